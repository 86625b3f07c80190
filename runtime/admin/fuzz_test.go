package admin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govkit/govern/runtime/health"
)

// FuzzAdminPaths sends arbitrary paths and queries to the admin handler:
// it never panics, never answers 500, and only ever runs registered checks.
func FuzzAdminPaths(f *testing.F) {
	for _, seed := range []string{"/readyz", "/readyz?verbose", "/readyz/db", "/readyz/%2e%2e", "/livez/x/y", "/healthz?x=1", "/debug/metrics", "//readyz", "/readyz/../healthz"} {
		f.Add(seed)
	}
	checks := health.New()
	if err := checks.Register("db", func(context.Context) error { return nil }); err != nil {
		f.Fatal(err)
	}
	h := New(WithChecks(checks), WithGatherer(prometheus.NewRegistry()))
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Path == "" || u.Path[0] != '/' {
			return
		}
		req := httptest.NewRequest(http.MethodGet, "http://admin.local/", nil)
		req.URL = u
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("GET %q = %d", target, rec.Code)
		}
		if got := checks.Names(); len(got) != 1 {
			t.Fatalf("checks changed: %v", got)
		}
	})
}
