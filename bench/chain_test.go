package bench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	mwratelimit "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/ratelimit"
	mwrecovery "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	zbreaker "github.com/zeromicro/go-zero/core/breaker"
	zmetric "github.com/zeromicro/go-zero/core/metric"
	zprometheus "github.com/zeromicro/go-zero/core/prometheus"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/logging"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/tracing"
)

// The work every chain does per call, as the issue defines it: a rate limit
// that admits (x/time/rate), a circuit breaker, a 1s timeout, server
// metrics (started / handled by code / latency histogram) and 10% trace
// sampling of root calls, plus panic recovery.
const (
	fullMethod   = "/bench.v1.Bench/Call"
	callTimeout  = time.Second
	samplingRate = 0.1
)

func benchTable() policy.Table {
	return policy.Table{fullMethod: {
		FullMethod: fullMethod, Service: "bench.v1.Bench", Name: "Call",
		Tier: policy.TierSilver, Timeout: callTimeout, Sampling: samplingRate,
		RateLimit:      &policy.RateLimit{RPS: 1e12, Burst: 1 << 30},
		CircuitBreaker: &policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second, OpenFor: time.Second},
	}}
}

var response = &struct{ msg string }{"ok"}

func handler(context.Context, any) (any, error) { return response, nil }

// ctxHandler is a handler that observes its deadline, as a handler that
// waits on anything (a database, a downstream call, a channel) does: it
// selects on ctx.Done beside its work.
func ctxHandler(ctx context.Context, _ any) (any, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	default:
		return response, nil
	}
}

// handlers are the two handler kinds every chain benchmark runs.
var handlers = []struct {
	name string
	h    grpc.UnaryHandler
}{
	{"ignores-ctx", handler},
	{"selects-ctx-done", ctxHandler},
}

// chain composes interceptors exactly as grpc.ChainUnaryInterceptor does:
// one closure per remaining interceptor per call.
func chain(interceptors ...grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return interceptors[0](ctx, req, info, chainedHandler(interceptors, 0, info, h))
	}
}

func chainedHandler(interceptors []grpc.UnaryServerInterceptor, cur int, info *grpc.UnaryServerInfo, final grpc.UnaryHandler) grpc.UnaryHandler {
	if cur == len(interceptors)-1 {
		return final
	}
	return func(ctx context.Context, req any) (any, error) {
		return interceptors[cur+1](ctx, req, info, chainedHandler(interceptors, cur+1, info, final))
	}
}

// spanInterceptor is the plain OpenTelemetry server span both competitor
// chains use (go-grpc-middleware v2 has no tracing interceptor of its own
// and points to otelgrpc; go-zero's starts a span the same way).
func spanInterceptor(tp trace.TracerProvider) grpc.UnaryServerInterceptor {
	tracer := tp.Tracer("bench")
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		ctx, span := tracer.Start(ctx, info.FullMethod[1:], trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		resp, err := h(ctx, req)
		if err != nil {
			span.SetStatus(otelcodes.Error, err.Error())
		}
		return resp, err
	}
}

func competitorTracerProvider(b *testing.B) *sdktrace.TracerProvider {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(samplingRate))))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// limiter adapts x/time/rate to go-grpc-middleware's ratelimit.Limiter.
type limiter struct{ l *rate.Limiter }

func (l limiter) Limit(context.Context) error {
	if !l.l.Allow() {
		return errors.New("rate limited")
	}
	return nil
}

func newLimiter() *rate.Limiter { return rate.NewLimiter(1e12, 1<<30) }

// governChain is the governed chain, built from the policy table.
func governChain(b *testing.B) grpc.UnaryServerInterceptor { return governChainTraced(b, true) }

// governChainTraced is governChain with or without its tracer provider
// (without: no spans, sampled or not).
func governChainTraced(b *testing.B, traced bool) grpc.UnaryServerInterceptor {
	table := benchTable()
	opts := []governance.Option{governance.WithService("bench", "bench", "local"), governance.WithLogger(logging.New(io.Discard, slog.LevelInfo))}
	if traced {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tracing.NewSampler(table)))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		opts = append(opts, governance.WithTracerProvider(tp))
	}
	g, err := governance.New(table, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return g.UnaryServerInterceptor()
}

// middlewareChain is the same work from go-grpc-middleware v2: recovery,
// the prometheus provider's server metrics (with the handling-time
// histogram), an OTel span, the ratelimit interceptor over x/time/rate,
// gobreaker v2 and a context.WithTimeout deadline (v2's timeout package is
// client-side only).
func middlewareChain(b *testing.B) grpc.UnaryServerInterceptor { return middlewareChainTraced(b, true) }

// middlewareChainTraced is middlewareChain with or without its span
// interceptor.
func middlewareChainTraced(b *testing.B, traced bool) grpc.UnaryServerInterceptor {
	reg := prometheus.NewRegistry()
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	reg.MustRegister(metrics)
	cb := gobreaker.NewCircuitBreaker[any](gobreaker.Settings{
		Name: fullMethod, Interval: 10 * time.Second, BucketPeriod: time.Second, Timeout: time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.Requests >= 20 && float64(c.TotalFailures) >= 0.5*float64(c.Requests)
		},
	})
	interceptors := []grpc.UnaryServerInterceptor{
		mwrecovery.UnaryServerInterceptor(),
		metrics.UnaryServerInterceptor(),
	}
	if traced {
		interceptors = append(interceptors, spanInterceptor(competitorTracerProvider(b)))
	}
	return chain(append(interceptors,
		mwratelimit.UnaryServerInterceptor(limiter{newLimiter()}),
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			resp, err := cb.Execute(func() (any, error) { return h(ctx, req) })
			if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
				return nil, status.Error(codes.Unavailable, err.Error())
			}
			return resp, err
		},
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			ctx, cancel := context.WithTimeout(ctx, callTimeout)
			defer cancel()
			return h(ctx, req)
		},
	)...)
}

// goZeroChain is the same work from go-zero's parts, composed the way
// zrpc's server interceptors compose them (zrpc/internal is not
// importable): recover, its prometheus metrics (core/metric:
// rpc_server_requests_duration_ms and code_total), an OTel span,
// x/time/rate (go-zero has no local token bucket), its SRE breaker
// (core/breaker, keyed by method) and its timeout interceptor's shape (the
// handler runs in a goroutine so a late handler is abandoned).
func goZeroChain(b *testing.B) grpc.UnaryServerInterceptor {
	zprometheus.Enable()
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36) // the vectors register globally: one name per build
	duration := zmetric.NewHistogramVec(&zmetric.HistogramVecOpts{
		Namespace: "rpc_server_" + suffix, Subsystem: "requests", Name: "duration_ms", Help: "rpc server requests duration(ms).",
		Labels: []string{"method"}, Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000},
	})
	codeTotal := zmetric.NewCounterVec(&zmetric.CounterVecOpts{
		Namespace: "rpc_server_" + suffix, Subsystem: "requests", Name: "code_total", Help: "rpc server requests code count.",
		Labels: []string{"method", "code"},
	})
	lim := newLimiter()
	return chain(
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
			defer func() {
				if p := recover(); p != nil {
					err = status.Errorf(codes.Internal, "panic: %v", p)
				}
			}()
			return h(ctx, req)
		},
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			start := time.Now()
			resp, err := h(ctx, req)
			duration.Observe(time.Since(start).Milliseconds(), info.FullMethod)
			codeTotal.Inc(info.FullMethod, strconv.Itoa(int(status.Code(err))))
			return resp, err
		},
		spanInterceptor(competitorTracerProvider(b)),
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if !lim.Allow() {
				return nil, status.Error(codes.ResourceExhausted, "rate limited")
			}
			return h(ctx, req)
		},
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
			err = zbreaker.DoWithAcceptable(info.FullMethod, func() error {
				var herr error
				resp, herr = h(ctx, req)
				return herr
			}, func(err error) bool { return err == nil || status.Code(err) != codes.Internal })
			return resp, err
		},
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			ctx, cancel := context.WithTimeout(ctx, callTimeout)
			defer cancel()
			type result struct {
				resp any
				err  error
			}
			done := make(chan result, 1)
			panicked := make(chan any, 1)
			go func() {
				defer func() {
					if p := recover(); p != nil {
						panicked <- p
					}
				}()
				resp, err := h(ctx, req)
				done <- result{resp, err}
			}()
			select {
			case p := <-panicked:
				panic(p)
			case r := <-done:
				return r.resp, r.err
			case <-ctx.Done():
				return nil, status.Error(codes.DeadlineExceeded, ctx.Err().Error())
			}
		},
	)
}

// callLoop calls h through call on ctx, b.N times, reporting allocations.
func callLoop(b *testing.B, ctx context.Context, call grpc.UnaryServerInterceptor, h grpc.UnaryHandler) {
	info := &grpc.UnaryServerInfo{FullMethod: fullMethod}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := call(ctx, "req", info, h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnaryChain: a bare handler call, then the same call through each
// chain, in process, with a handler that ignores its context and one that
// selects on ctx.Done. Added cost = chain - bare.
func BenchmarkUnaryChain(b *testing.B) {
	ctx := context.Background()
	for _, hd := range handlers {
		run := func(b *testing.B, call grpc.UnaryServerInterceptor) { callLoop(b, ctx, call, hd.h) }
		b.Run(hd.name+"/bare", func(b *testing.B) {
			run(b, func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				return h(ctx, req)
			})
		})
		b.Run(hd.name+"/govern", func(b *testing.B) { run(b, governChain(b)) })
		b.Run(hd.name+"/grpc-middleware-v2", func(b *testing.B) { run(b, middlewareChain(b)) })
		b.Run(hd.name+"/go-zero", func(b *testing.B) { run(b, goZeroChain(b)) })
	}
}

// BenchmarkUnaryChainUntraced is BenchmarkUnaryChain without tracing in
// either chain: the chain issue 11's target names (limit + breaker +
// timeout + metrics + recovery), so the ratio is not diluted by the span
// work both chains share.
func BenchmarkUnaryChainUntraced(b *testing.B) {
	ctx := context.Background()
	for _, hd := range handlers {
		run := func(b *testing.B, call grpc.UnaryServerInterceptor) { callLoop(b, ctx, call, hd.h) }
		b.Run(hd.name+"/govern", func(b *testing.B) { run(b, governChainTraced(b, false)) })
		b.Run(hd.name+"/grpc-middleware-v2", func(b *testing.B) { run(b, middlewareChainTraced(b, false)) })
	}
}

// BenchmarkUnaryChainCancelableParent is BenchmarkUnaryChain with the
// context grpc-go gives a handler: cancelable (the stream's), which every
// deadline implementation must watch.
func BenchmarkUnaryChainCancelableParent(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	for _, hd := range handlers {
		run := func(b *testing.B, call grpc.UnaryServerInterceptor) { callLoop(b, ctx, call, hd.h) }
		b.Run(hd.name+"/govern", func(b *testing.B) { run(b, governChain(b)) })
		b.Run(hd.name+"/grpc-middleware-v2", func(b *testing.B) { run(b, middlewareChain(b)) })
	}
}

// BenchmarkUnaryChainParallel is BenchmarkUnaryChain from every P at once:
// the shared state of each chain (limiter, breaker, metric series, timer
// wheel) under contention.
func BenchmarkUnaryChainParallel(b *testing.B) {
	info := &grpc.UnaryServerInfo{FullMethod: fullMethod}
	for _, hd := range handlers {
		run := func(b *testing.B, call grpc.UnaryServerInterceptor) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := call(ctx, "req", info, hd.h); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		b.Run(hd.name+"/govern", func(b *testing.B) { run(b, governChain(b)) })
		b.Run(hd.name+"/grpc-middleware-v2", func(b *testing.B) { run(b, middlewareChain(b)) })
		b.Run(hd.name+"/go-zero", func(b *testing.B) { run(b, goZeroChain(b)) })
	}
}
