package main

import (
	"fmt"
	"net/http"

	"github.com/govkit/govern/examples/httporders/api"
	"github.com/govkit/govern/runtime/httpgovern"
	"github.com/govkit/govern/runtime/problem"
)

// newHandler mounts the generated server on an explicit ServeMux with the
// governing middleware inside it, where r.Pattern names the route.
func newHandler(svc api.StrictServerInterface, opts ...httpgovern.Option) (http.Handler, *httpgovern.Middleware, error) {
	mw, err := httpgovern.New(api.Routes, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("governing the API: %w", err)
	}
	mux := http.NewServeMux()
	strict := api.NewStrictHandlerWithOptions(svc, nil, api.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			problem.WriteProblem(w, problem.Problem{Type: "about:blank", Title: "Malformed request", Status: http.StatusBadRequest, Detail: err.Error(), Route: r.Pattern}, 0)
		},
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			problem.Write(w, err, r.Pattern)
		},
	})
	api.HandlerWithOptions(strict, api.StdHTTPServerOptions{BaseRouter: mux, Middlewares: []api.MiddlewareFunc{mw.Middleware}})
	return mux, mw, nil
}
