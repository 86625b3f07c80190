package httpgovern_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"golang.org/x/time/rate"

	"github.com/govkit/govern/runtime/httpgovern"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/tracing"
)

// The benchmarks compare the governed middleware with the stack a team
// would assemble by hand for the same work (x/time/rate, gobreaker,
// promhttp duration histogram by route, otelhttp spans, a context
// timeout), each around the same handler on the same ServeMux, in one run.

var benchPolicy = &policy.Method{
	FullMethod: "getOrder", Service: "orders", Name: "getOrder", Tier: policy.TierBronze, Sampling: 0.01,
	Timeout:        time.Second,
	RateLimit:      &policy.RateLimit{RPS: 1e9, Burst: 1e9},
	CircuitBreaker: &policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second, OpenFor: 5 * time.Second, HalfOpenRequests: 1},
}

const benchPattern = "GET /orders/{id}"

func trivial(w http.ResponseWriter, r *http.Request) {}

// usesCtx is a handler that reads its context as real handlers do: the
// deadline for a downstream call, and whether the caller is still there.
func usesCtx(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if _, ok := ctx.Deadline(); !ok {
		panic("no deadline")
	}
	if ctx.Err() != nil {
		return
	}
	w.WriteHeader(http.StatusOK)
}

func governed(b *testing.B, h http.HandlerFunc) http.Handler {
	table := policy.Table{"getOrder": benchPolicy}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tracing.NewSampler(table)))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	mw, err := httpgovern.New([]policy.Route{{HTTPMethod: "GET", Pattern: "/orders/{id}", FullMethod: "getOrder", Policy: benchPolicy}},
		httpgovern.WithTracerProvider(tp), httpgovern.WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(benchPattern, mw.Handler(h))
	return mux
}

func handAssembled(b *testing.B, h http.HandlerFunc) http.Handler {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	reg := prometheus.NewRegistry()
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds", Help: "d"}, []string{"route", "method", "code"})
	reg.MustRegister(duration)
	limiter := rate.NewLimiter(1e9, 1e9)
	cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{Name: "getOrder", Interval: 10 * time.Second, Timeout: 5 * time.Second, MaxRequests: 1})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !limiter.Allow() {
			http.Error(w, "rate limited", http.StatusTooManyRequests)
			return
		}
		_, err := cb.Execute(func() (struct{}, error) {
			ctx, cancel := context.WithTimeout(r.Context(), time.Second)
			defer cancel()
			h(w, r.WithContext(ctx))
			return struct{}{}, nil
		})
		if err != nil {
			http.Error(w, "circuit open", http.StatusServiceUnavailable)
		}
	})
	instrumented := promhttp.InstrumentHandlerDuration(duration.MustCurryWith(prometheus.Labels{"route": "/orders/{id}"}), inner)
	mux := http.NewServeMux()
	mux.Handle(benchPattern, otelhttp.NewHandler(instrumented, "getOrder", otelhttp.WithTracerProvider(tp)))
	return mux
}

func bare(b *testing.B, h http.HandlerFunc) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(benchPattern, h)
	return mux
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

func run(b *testing.B, h http.Handler) {
	req := httptest.NewRequest("GET", "/orders/42", nil)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

func BenchmarkMiddleware(b *testing.B) {
	for _, handler := range []struct {
		name string
		h    http.HandlerFunc
	}{{"trivial", trivial}, {"uses-ctx", usesCtx}} {
		for _, stack := range []struct {
			name  string
			build func(*testing.B, http.HandlerFunc) http.Handler
		}{{"bare", bare}, {"govern", governed}, {"hand-assembled", handAssembled}} {
			if stack.name == "bare" && handler.name == "uses-ctx" {
				continue // needs a deadline
			}
			b.Run(handler.name+"/"+stack.name, func(b *testing.B) { run(b, stack.build(b, handler.h)) })
		}
	}
}
