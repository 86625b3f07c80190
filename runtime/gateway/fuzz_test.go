package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// FuzzRouteLabels sends arbitrary methods and paths through a metered mux:
// whatever a client sends, the route label is one of the registered
// templates and the method label one of a fixed set, so no request can add
// a series of its own.
func FuzzRouteLabels(f *testing.F) {
	for _, seed := range []struct{ method, path string }{
		{"GET", "/v1/orders/1"},
		{"POST", "/v1/orders"},
		{"GET", "/v1/orders/a%2Fb"},
		{"BREW", "/v1/orders/../../etc/passwd"},
		{"GET", "/v1/orders/1:cancel"},
		{"POST", "/v1/orders/x:cancel"},
		{"get", "//v1//orders"},
	} {
		f.Add(seed.method, seed.path)
	}
	templates := map[string]bool{"/v1/orders": true, "/v1/orders/{id}": true, "/v1/orders/{id}:cancel": true}
	methods := map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "CONNECT": true, "OPTIONS": true, "TRACE": true, "OTHER": true}

	f.Fuzz(func(t *testing.T, method, path string) {
		if !validHTTPMethod(method) || len(method) > 16 {
			method = "OTHER-" + url.PathEscape(method)
		}
		u, err := url.Parse("http://example.com" + path)
		if err != nil || u.Path == "" || u.Path[0] != '/' {
			return
		}
		reg := prometheus.NewRegistry()
		mux := NewServeMux(WithRegisterer(reg))
		handle(t, mux, "POST", "/v1/orders", "/o.S/Create", func(context.Context) error { return nil })
		handle(t, mux, "GET", "/v1/orders/{id}", "/o.S/Get", func(context.Context) error { return nil })
		handle(t, mux, "POST", "/v1/orders/{id}:cancel", "/o.S/Cancel", func(context.Context) error { return nil })

		req := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
		req.Method, req.URL = method, u
		mux.ServeHTTP(httptest.NewRecorder(), req)

		for _, s := range series(t, reg, MetricRequestDuration) {
			if !templates[s["route"]] || !methods[s["method"]] {
				t.Fatalf("%s %q produced series %v", method, path, s)
			}
		}
		for _, s := range series(t, reg, MetricUnmatched) {
			if !methods[s["method"]] {
				t.Fatalf("%s %q produced unmatched series %v", method, path, s)
			}
		}
	})
}
