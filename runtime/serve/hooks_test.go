package serve

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govkit/govern/runtime/health"
)

// A shutdown hook (deregistration from discovery) runs once readiness is
// false and before any listener closes.
func TestShutdownHookRunsAfterReadinessBeforeClose(t *testing.T) {
	checks := health.New(health.WithCacheTTL(0))
	var closed atomic.Bool
	lis := &observedListener{Listener: listen(t), onClose: func() { closed.Store(true) }}
	var ran, readyDuringHook, closedDuringHook atomic.Bool
	srv := New(
		WithHTTP("app", lis, NewHTTPServer(http.NewServeMux())),
		WithChecks(checks),
		WithDrainDelay(10*time.Millisecond),
		WithLogger(quiet()),
		WithShutdownHook("failing", func(context.Context) error { return errors.New("registry unreachable") }),
		WithShutdownHook("deregister", func(ctx context.Context) error {
			ran.Store(true)
			readyDuringHook.Store(checks.Readiness(ctx).OK)
			closedDuringHook.Store(closed.Load())
			return nil
		}),
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !ran.Load() {
		t.Fatal("the shutdown hook did not run (a failing hook before it must not stop the shutdown)")
	}
	if readyDuringHook.Load() || closedDuringHook.Load() {
		t.Errorf("during the hook ready=%v, listener closed=%v; want not ready and still open", readyDuringHook.Load(), closedDuringHook.Load())
	}
}
