package governance_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"

	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/logging"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/tracing"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

// BenchTable is the policy of the chain benchmarks: one silver method with
// a limit that never rejects, a breaker, a timeout and 10% sampling.
func benchTable() policy.Table {
	return policy.Table{"/bench.v1.Bench/Call": {
		FullMethod: "/bench.v1.Bench/Call", Service: "bench.v1.Bench", Name: "Call",
		Tier: policy.TierSilver, Timeout: time.Second, Sampling: 0.1,
		RateLimit:      &policy.RateLimit{RPS: 1e12, Burst: 1 << 30},
		CircuitBreaker: &policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second, OpenFor: time.Second},
	}}
}

var benchResponse = &struct{ msg string }{"ok"}

func benchHandler(ctx context.Context, req any) (any, error) { return benchResponse, nil }

// benchCtxHandler observes its deadline, as a handler that waits on
// anything does.
func benchCtxHandler(ctx context.Context, req any) (any, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	default:
		return benchResponse, nil
	}
}

// BenchmarkUnaryChain compares a bare handler call with the same call
// through the full governed chain, in process. The difference is what
// governance adds per call; goal <= 1 µs and <= 2 allocations.
func BenchmarkUnaryChain(b *testing.B) {
	table := benchTable()
	info := &grpc.UnaryServerInfo{FullMethod: "/bench.v1.Bench/Call"}
	ctx := context.Background()

	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := benchHandler(ctx, "req"); err != nil {
				b.Fatal(err)
			}
		}
	})

	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tracing.NewSampler(table)))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	g, err := governance.New(table, governance.WithService("bench", "bench", "local"),
		governance.WithLogger(logging.New(io.Discard, slog.LevelInfo)), governance.WithTracerProvider(tp))
	if err != nil {
		b.Fatal(err)
	}
	interceptor := g.UnaryServerInterceptor()
	b.Run("govern", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := interceptor(ctx, "req", info, benchHandler); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("govern-selects-ctx-done", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := interceptor(ctx, "req", info, benchCtxHandler); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The sampled share of calls pays for a recording span; show both ends.
	for _, ratio := range []float64{0, 1} {
		table := benchTable()
		table["/bench.v1.Bench/Call"].Sampling = ratio
		g, err := governance.New(table, governance.WithService("bench", "bench", "local"),
			governance.WithLogger(logging.New(io.Discard, slog.LevelInfo)), governance.WithTracerProvider(tp))
		if err != nil {
			b.Fatal(err)
		}
		interceptor := g.UnaryServerInterceptor()
		b.Run(fmt.Sprintf("govern-sampling-%g", ratio), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := interceptor(ctx, "req", info, benchHandler); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	ungoverned := &grpc.UnaryServerInfo{FullMethod: "/bench.v1.Bench/NotInTable"}
	b.Run("govern-ungoverned-method", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := interceptor(ctx, "req", ungoverned, benchHandler); err != nil {
				b.Fatal(err)
			}
		}
	})
}
