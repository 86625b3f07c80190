package admin_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govkit/govern/runtime/admin"
	"github.com/govkit/govern/runtime/health"
)

func Example() {
	checks := health.New()
	_ = checks.Register("redis", func(ctx context.Context) error { return nil }, health.AsDatabase())
	registry := prometheus.NewRegistry()

	h := admin.New(
		admin.WithService("order"),
		admin.WithVersion("v1.0.0"),
		admin.WithChecks(checks),
		admin.WithGatherer(registry),
	)
	// In a service: serve.NewHTTPServer(h) on the admin port.
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/readyz?verbose")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.StatusCode, "\n", string(body))
	// Output:
	// 200
	// [+]redis ok
	// readyz check passed
}
