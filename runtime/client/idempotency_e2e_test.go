package client

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/retry/retrytest"
)

// TestRetriesAgainstAnIdempotentServer runs the client against a server
// guarded by runtime/idempotency: a write that requires a key is retried
// through transient failures and a slow attempt, and its side effect
// happens once.
func TestRetriesAgainstAnIdempotentServer(t *testing.T) {
	table := policy.Table{retrytest.Create: {FullMethod: retrytest.Create, Timeout: 100 * time.Millisecond,
		Idempotency: &policy.Idempotency{Required: true, TTL: time.Hour, Lease: 10 * time.Second},
		Retry: &policy.Retry{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Multiplier: 2,
			Codes: []codes.Code{codes.Unavailable, codes.DeadlineExceeded}, Adaptive: true}}}
	guard := idempotency.NewServer(table, idempotency.NewMemoryStore())

	t.Run("transient failure then success", func(t *testing.T) {
		var effects atomic.Int32
		srv, err := retrytest.Start(func(_ context.Context, a retrytest.Attempt) (string, error) {
			if a.N == 1 {
				return "", status.Error(codes.Unavailable, "database failover") // before any effect
			}
			effects.Add(1)
			return "order created", nil
		}, grpc.ChainUnaryInterceptor(guard.UnaryServerInterceptor()))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		cc := dial(t, srv.Addr, table)
		// No key set by the caller: the client attaches one, so the
		// server's "required" check passes and both attempts share it.
		if got, err := retrytest.Call(t.Context(), cc, retrytest.Create, "sku-1"); err != nil || got != "order created" {
			t.Fatalf("Call = %q, %v", got, err)
		}
		if n, e := srv.Attempts(retrytest.Create), effects.Load(); n != 2 || e != 1 {
			t.Errorf("attempts = %d, effects = %d; want 2 attempts, 1 effect", n, e)
		}
	})

	t.Run("slow attempt and its retry", func(t *testing.T) {
		var effects atomic.Int32
		release := make(chan struct{})
		finished := make(chan struct{})
		srv, err := retrytest.Start(func(_ context.Context, a retrytest.Attempt) (string, error) {
			if a.N == 1 {
				defer close(finished)
				<-release // a write that goes on after the client gave up on it
			}
			effects.Add(1)
			return "order created", nil
		}, grpc.ChainUnaryInterceptor(guard.UnaryServerInterceptor()))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		cc := dial(t, srv.Addr, table)
		ctx := metadata.AppendToOutgoingContext(t.Context(), idempotency.MetadataKey, "order-77")

		// Attempt 1 exceeds its 100ms; attempt 2 carries the same key and
		// finds it in flight: the server refuses to run the write twice.
		_, err = retrytest.Call(ctx, cc, retrytest.Create, "sku-2")
		if !errinfo.Is(err, errinfo.IdempotencyInFlight) {
			t.Fatalf("err = %v, want ABORTED IDEMPOTENCY_IN_FLIGHT", err)
		}
		// The IN_FLIGHT answer is the second attempt's; the guard stopped
		// it before the handler.
		if n := srv.Attempts(retrytest.Create); n != 1 {
			t.Errorf("the handler saw %d attempts, want 1", n)
		}
		close(release)
		<-finished
		// The application retries later with the same key: the stored
		// result is replayed and the write still happened once.
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, err := retrytest.Call(ctx, cc, retrytest.Create, "sku-2")
			if err == nil {
				if got != "order created" {
					t.Fatalf("replay = %q", got)
				}
				break
			}
			if !errinfo.Is(err, errinfo.IdempotencyInFlight) || time.Now().After(deadline) {
				t.Fatalf("replay: %v", err)
			}
			time.Sleep(10 * time.Millisecond) // the first attempt's result is being stored
		}
		if e := effects.Load(); e != 1 {
			t.Errorf("the write ran %d times, want 1", e)
		}
	})
}
