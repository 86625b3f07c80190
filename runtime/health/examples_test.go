package health_test

import (
	"context"
	"fmt"
	"time"

	"github.com/govkit/govern/runtime/health"
)

func Example() {
	checks := health.New(health.WithCacheTTL(time.Second))
	// The database ping: its latency becomes /healthz's db_ping_ms.
	_ = checks.Register("postgres", func(ctx context.Context) error {
		return nil // db.PingContext(ctx)
	}, health.AsDatabase(), health.WithTimeout(500*time.Millisecond))

	rep := checks.Readiness(context.Background())
	fmt.Println("ready:", rep.OK)

	// On SIGTERM, before closing listeners:
	checks.Shutdown()
	fmt.Println("ready after shutdown:", checks.Readiness(context.Background()).OK)
	// Output:
	// ready: true
	// ready after shutdown: false
}
