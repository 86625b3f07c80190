package admin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govkit/govern/runtime/health"
)

// FuzzAdminPaths sends arbitrary paths and queries to the admin handler:
// it never panics, never answers 500, and runs only the checks a request
// names: each registered check at most once, a single check only when the
// path names it, and none for a request it answers 404.
func FuzzAdminPaths(f *testing.F) {
	for _, seed := range []string{"/readyz", "/readyz?verbose", "/readyz/db", "/readyz/cache", "/livez/db", "/readyz/%64b", "/readyz/%2e%2e", "/livez/x/y", "/healthz?x=1", "/debug/metrics", "//readyz", "/readyz/../healthz", "/readyz/dbx"} {
		f.Add(seed)
	}
	checks := health.New()
	// Runs are counted per request: a run a probe gave up on (its
	// deadline passed on a loaded machine) can start after the next
	// request reset the counters, and must not be counted for it.
	type requestSeq struct{}
	var db, cache, current atomic.Int64
	for name, runs := range map[string]*atomic.Int64{"db": &db, "cache": &cache} {
		if err := checks.Register(name, func(ctx context.Context) error {
			if seq, _ := ctx.Value(requestSeq{}).(int64); seq == current.Load() {
				runs.Add(1)
			}
			return nil
		}); err != nil {
			f.Fatal(err)
		}
	}
	h := New(WithChecks(checks), WithGatherer(prometheus.NewRegistry()))
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Path == "" || u.Path[0] != '/' {
			return
		}
		seq := current.Add(1)
		req := httptest.NewRequestWithContext(context.WithValue(context.Background(), requestSeq{}, seq), http.MethodGet, "http://admin.local/", nil)
		req.URL = u
		rec := httptest.NewRecorder()
		db.Store(0)
		cache.Store(0)
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("GET %q = %d", target, rec.Code)
		}
		dbRuns, cacheRuns := db.Load(), cache.Load()
		if dbRuns > 1 || cacheRuns > 1 {
			t.Fatalf("GET %q ran db %d times, cache %d times: each check runs at most once per request", target, dbRuns, cacheRuns)
		}
		if rec.Code == http.StatusNotFound && dbRuns+cacheRuns > 0 {
			t.Fatalf("GET %q = 404 but ran db %d, cache %d", target, dbRuns, cacheRuns)
		}
		// One check alone runs only for /readyz/<name> or /livez/<name>.
		if dbRuns+cacheRuns == 1 {
			name := "db"
			if cacheRuns == 1 {
				name = "cache"
			}
			if !strings.HasSuffix(u.Path, "/"+name) {
				t.Fatalf("GET %q ran only %s, which the path does not name", target, name)
			}
		}
	})
}
