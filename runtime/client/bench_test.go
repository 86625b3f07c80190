package client

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/retry"
)

// chain composes unary client interceptors the way grpc.WithChainUnaryInterceptor
// does, so the benchmark measures govern's work without a network.
func chain(ics []grpc.UnaryClientInterceptor, final grpc.UnaryInvoker) grpc.UnaryInvoker {
	inv := final
	for i := len(ics) - 1; i >= 0; i-- {
		ic, next := ics[i], inv
		inv = func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
			return ic(ctx, method, req, reply, cc, next, opts...)
		}
	}
	return inv
}

// BenchmarkClientChain measures the govern client interceptors (idempotency
// key, metrics, adaptive retry, attempt timeout, breaker) around a no-op
// invoker, by kind of method.
func BenchmarkClientChain(b *testing.B) {
	cb := &policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second, OpenFor: 5 * time.Second}
	retryPol := func(adaptive bool) *policy.Retry {
		return &policy.Retry{MaxAttempts: 3, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
			Multiplier: 2, Codes: []codes.Code{codes.Unavailable}, Adaptive: adaptive}
	}
	table := policy.Table{
		"/b.S/Native":   {FullMethod: "/b.S/Native", IdempotencyLevel: policy.NoSideEffects, Timeout: time.Second, CircuitBreaker: cb, Retry: retryPol(false)},
		"/b.S/Adaptive": {FullMethod: "/b.S/Adaptive", IdempotencyLevel: policy.NoSideEffects, Timeout: time.Second, CircuitBreaker: cb, Retry: retryPol(true)},
		"/b.S/Keyed":    {FullMethod: "/b.S/Keyed", Idempotency: &policy.Idempotency{TTL: time.Hour}, Timeout: time.Second, CircuitBreaker: cb},
	}
	cc, err := grpc.NewClient("passthrough:///bench", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	metrics, err := newClientMetrics(prometheus.NewRegistry(), table)
	if err != nil {
		b.Fatal(err)
	}
	r, err := retry.New(table, retry.WithOutcomeObserver(metrics.observeAttempt))
	if err != nil {
		b.Fatal(err)
	}
	ics := []grpc.UnaryClientInterceptor{idempotency.UnaryClientInterceptor(table), metrics.unary,
		r.UnaryClientInterceptor(), attemptTimeout(table), newBreakers(table).unary}
	noop := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	invoke := chain(ics, noop)
	for _, method := range []string{"/b.S/Ungoverned", "/b.S/Native", "/b.S/Adaptive", "/b.S/Keyed"} {
		b.Run(method[5:], func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := invoke(ctx, method, nil, nil, cc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
