package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	orderv1 "github.com/govkit/govern/examples/order/gen/order/v1"
)

// contract is the generated OpenAPI document, loaded and validated.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

func loadContract(t *testing.T) *contract {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatalf("loading the generated OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the generated OpenAPI document is invalid: %v", err)
	}
	// The document's server is relative ("/", the serving host); without
	// servers the router matches the paths on whatever host the test uses.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &contract{doc: doc, router: router}
}

// conforms checks that an HTTP exchange of the running service matches the
// document: the generator's description of the errors and the gateway's
// actual answers must agree.
func (c *contract) conforms(t *testing.T, method, url string, reqHeader http.Header, r response) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = reqHeader
	route, pathParams, err := c.router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s is not in the OpenAPI document: %v", method, url, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route},
		Status:                 r.code,
		Header:                 r.header,
		Body:                   io.NopCloser(bytes.NewReader(r.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s answered %d %s, which the OpenAPI document does not allow: %v", method, url, r.code, r.body, err)
	}
}

func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	c := loadContract(t)
	for _, route := range orderv1.OrderServiceRoutes {
		item := c.doc.Paths.Find(route.Pattern)
		if item == nil {
			t.Errorf("route %s %s missing from the document", route.HTTPMethod, route.Pattern)
			continue
		}
		op := item.GetOperation(route.HTTPMethod)
		if op == nil {
			t.Errorf("route %s %s has no operation", route.HTTPMethod, route.Pattern)
			continue
		}
		if _, ok := op.Extensions["x-govern"]; !ok {
			t.Errorf("%s %s has no x-govern extension", route.HTTPMethod, route.Pattern)
		}
		hasKey := op.Parameters.GetByInAndName("header", "Idempotency-Key") != nil
		if wantKey := route.Policy != nil && route.Policy.Idempotency != nil; hasKey != wantKey {
			t.Errorf("%s %s: Idempotency-Key parameter present=%v, want %v", route.HTTPMethod, route.Pattern, hasKey, wantKey)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	s := startService(t)
	r := s.do(t, http.MethodGet, s.httpURL+openAPIPath, "", "")
	if r.code != 200 || !bytes.Equal(r.body, openAPIDocument) || !strings.Contains(r.header.Get("Content-Type"), "yaml") {
		t.Fatalf("GET %s = %d %s", openAPIPath, r.code, r.header.Get("Content-Type"))
	}
}
