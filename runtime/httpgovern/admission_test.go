package httpgovern

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/breaker"
	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/metrics"
	"github.com/govkit/govern/runtime/policy"
)

const getOrder = "/orders.v1.OrderService/GetOrder"

// tripsOnFirstFailure is a breaker that opens on one failure and stays
// closed on a success, so its state after one request says how that
// request was classified.
var tripsOnFirstFailure = &policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 1, Window: time.Minute, OpenFor: time.Minute, HalfOpenRequests: 1}

func getOrderPolicy(timeout time.Duration) *policy.Method {
	return &policy.Method{FullMethod: getOrder, Service: "orders.v1.OrderService", Name: "GetOrder", Timeout: timeout, CircuitBreaker: tripsOnFirstFailure}
}

func getOrderRoute(p *policy.Method) []policy.Route {
	return []policy.Route{{HTTPMethod: "GET", Pattern: "/orders/{id}", FullMethod: getOrder, Policy: p}}
}

func quietGovernor(t *testing.T, table policy.Table, opts ...governance.Option) *governance.Governor {
	t.Helper()
	g, err := governance.New(table, append([]governance.Option{governance.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// mount serves h under mw on a ServeMux, called in process so that the
// middleware has recorded the outcome when ServeHTTP returns.
func mount(mw *Middleware, h http.HandlerFunc) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /orders/{id}", mw.Handler(h))
	return mux
}

func get(h http.Handler, ctx context.Context, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(ctx, "GET", "/orders/1", nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestTrafficGroupsSplitTheBreaker: canary requests trip the canary
// breaker while default traffic is still served, whether the middleware
// builds its governor (WithTrafficGroups) or shares the gRPC side's.
func TestTrafficGroupsSplitTheBreaker(t *testing.T) {
	p := getOrderPolicy(0)
	for _, c := range []struct {
		name string
		opts func(t *testing.T) []Option
	}{
		{"own governor", func(t *testing.T) []Option { return []Option{WithTrafficGroups("X-Canary", "true")} }},
		{"shared governor", func(t *testing.T) []Option {
			return []Option{WithGovernor(quietGovernor(t, policy.Table{getOrder: p}, governance.WithTrafficGroups("x-canary", "true")))}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			mw, err := New(getOrderRoute(p), c.opts(t)...)
			if err != nil {
				t.Fatal(err)
			}
			h := mount(mw, func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Canary") == "true" {
					w.WriteHeader(http.StatusInternalServerError) // the canary build is broken
				}
			})
			canary := http.Header{"X-Canary": {"true"}}
			if got := get(h, context.Background(), canary).Code; got != http.StatusInternalServerError {
				t.Fatalf("first canary request: %d, want the handler's 500", got)
			}
			if rec := get(h, context.Background(), canary); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), errinfo.CircuitOpen) {
				t.Fatalf("canary after its breaker opened: %d %s, want 503 CIRCUIT_OPEN", rec.Code, rec.Body)
			}
			for _, header := range []http.Header{nil, {"X-Canary": {"false"}}} {
				if got := get(h, context.Background(), header).Code; got != http.StatusOK {
					t.Errorf("default traffic (%v) with the canary breaker open: %d, want 200", header, got)
				}
			}
			if s := mw.governor.GroupBreaker(getOrder, "true").State(); s != breaker.Open {
				t.Errorf("canary breaker %v, want open", s)
			}
			if s := mw.governor.Breaker(getOrder).State(); s != breaker.Closed {
				t.Errorf("default breaker %v, want closed", s)
			}
		})
	}
}

// TestHTTPAndGRPCClassifyAlike ends one call of a fresh breaker per
// outcome, over HTTP and over gRPC, and checks both transports trip the
// breaker for the same outcomes: 5xx and timeouts as UNAVAILABLE,
// INTERNAL and DEADLINE_EXCEEDED do, panics too, but not 4xx, 501
// (UNIMPLEMENTED) or a client that went away.
func TestHTTPAndGRPCClassifyAlike(t *testing.T) {
	const timeout = 30 * time.Millisecond
	canceled := func() context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}
	for _, c := range []struct {
		name    string
		ctx     func() context.Context // the caller's context
		http    http.HandlerFunc
		grpc    func(ctx context.Context) error
		failure bool
	}{
		{"success", nil, func(w http.ResponseWriter, r *http.Request) {}, func(context.Context) error { return nil }, false},
		{"bad request", nil, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(400) },
			func(context.Context) error { return status.Error(codes.InvalidArgument, "") }, false},
		{"not found", nil, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) },
			func(context.Context) error { return status.Error(codes.NotFound, "") }, false},
		{"conflict", nil, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(409) },
			func(context.Context) error { return status.Error(codes.Aborted, "") }, false},
		{"too many requests", nil, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) },
			func(context.Context) error { return status.Error(codes.ResourceExhausted, "") }, false},
		{"not implemented", nil, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(501) },
			func(context.Context) error { return status.Error(codes.Unimplemented, "") }, false},
		{"internal", nil, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) },
			func(context.Context) error { return status.Error(codes.Internal, "") }, true},
		{"bad gateway", nil, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) },
			func(context.Context) error { return status.Error(codes.Unavailable, "") }, true},
		{"unavailable", nil, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) },
			func(context.Context) error { return status.Error(codes.Unavailable, "") }, true},
		{"policy timeout", nil, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, true},
		{"panic", nil, func(w http.ResponseWriter, r *http.Request) { panic("boom") },
			func(context.Context) error { panic("boom") }, true},
		{"client went away", canceled, func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			w.WriteHeader(500) // to nobody
		}, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			if c.ctx != nil {
				ctx = c.ctx()
			}
			want := breaker.Closed
			if c.failure {
				want = breaker.Open
			}

			mw, err := New(getOrderRoute(getOrderPolicy(timeout)))
			if err != nil {
				t.Fatal(err)
			}
			get(mount(mw, c.http), ctx, nil)
			if got := mw.governor.Breaker(getOrder).State(); got != want {
				t.Errorf("over HTTP: breaker %v, want %v", got, want)
			}

			g := quietGovernor(t, policy.Table{getOrder: getOrderPolicy(timeout)})
			_, _ = g.UnaryServerInterceptor()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: getOrder}, func(ctx context.Context, _ any) (any, error) {
				return nil, c.grpc(ctx)
			})
			if got := g.Breaker(getOrder).State(); got != want {
				t.Errorf("over gRPC: breaker %v, want %v", got, want)
			}
		})
	}
}

// TestSharedGovernorOneBreakerOneLimit: with WithGovernor, the failures
// of HTTP requests open the breaker the gRPC chain admits with, and both
// transports spend one rate limit.
func TestSharedGovernorOneBreakerOneLimit(t *testing.T) {
	p := getOrderPolicy(0)
	p.RateLimit = &policy.RateLimit{RPS: 0.001, Burst: 3}
	g := quietGovernor(t, policy.Table{getOrder: p})
	mw, err := New(getOrderRoute(p), WithGovernor(g))
	if err != nil {
		t.Fatal(err)
	}
	h := mount(mw, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	unary := func() error {
		_, err := g.UnaryServerInterceptor()(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: getOrder}, func(context.Context, any) (any, error) {
			t.Error("the gRPC handler ran with the breaker open")
			return nil, nil
		})
		return err
	}

	get(h, context.Background(), nil) // the upstream is down: 503, the breaker opens
	if err := unary(); !errinfo.Is(err, errinfo.CircuitOpen) {
		t.Fatalf("gRPC call after an HTTP failure: %v, want CIRCUIT_OPEN", err)
	}
	// Two requests of the burst of 3 are spent, one per transport.
	if got := get(h, context.Background(), nil).Code; got != http.StatusServiceUnavailable {
		t.Fatalf("third call: %d, want 503 (breaker open, within the burst)", got)
	}
	if err := unary(); !errinfo.Is(err, errinfo.RateLimited) {
		t.Fatalf("fourth call: %v, want RATE_LIMITED (the burst is spent over both transports)", err)
	}
}

// TestBreakerStateChangeNamesTraceID: the state change an HTTP failure
// causes is logged with the request's trace id, as over gRPC.
func TestBreakerStateChangeNamesTraceID(t *testing.T) {
	var log bytes.Buffer
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	mw, err := New(getOrderRoute(getOrderPolicy(0)), WithTracerProvider(tp), WithLogger(slog.New(slog.NewJSONHandler(&log, nil))))
	if err != nil {
		t.Fatal(err)
	}
	h := mount(mw, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	get(h, context.Background(), http.Header{"Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}})
	for _, want := range []string{`"msg":"circuit breaker changed state"`, `"cb_name":"` + getOrder + `"`, `"state":"open"`, `"trace_id":"0af7651916cd43dd8448eb211c80319c"`} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, log.String())
		}
	}
}

// TestWithGovernorMisuse: options the shared governor owns, and routes
// the governor would admit with another policy, are errors naming the
// fix, never silently ungoverned routes.
func TestWithGovernorMisuse(t *testing.T) {
	p := getOrderPolicy(time.Second)
	g := quietGovernor(t, policy.Table{getOrder: p})
	other := getOrderPolicy(2 * time.Second)
	untabled := &policy.Method{FullMethod: "/orders.v1.OrderService/ListOrders", Name: "ListOrders", RateLimit: &policy.RateLimit{RPS: 1, Burst: 1}}
	for _, c := range []struct {
		name   string
		routes []policy.Route
		opts   []Option
		want   string
	}{
		{"traffic groups", getOrderRoute(p), []Option{WithTrafficGroups("x-canary", "true")}, "governance.WithTrafficGroups"},
		{"rate-limit store", getOrderRoute(p), []Option{WithRateLimitStore(nil)}, ""},
		{"other timeout", getOrderRoute(other), nil, "the routes declare timeout 2s"},
		{"not in the table", []policy.Route{{HTTPMethod: "GET", Pattern: "/orders", Policy: untabled}}, nil, "ListOrders with no timeout, no rate limit, no breaker, the routes declare no timeout, rate limit 1 rps burst 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.routes, append(c.opts, WithGovernor(g))...)
			if c.want == "" { // a nil store is no store: nothing to reject
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one naming %q", err, c.want)
			}
		})
	}
	// A route that declares no admission needs no entry in the table.
	plain := &policy.Method{FullMethod: "/orders.v1.OrderService/Ping", Name: "Ping"}
	if _, err := New([]policy.Route{{HTTPMethod: "GET", Pattern: "/ping", Policy: plain}}, WithGovernor(g)); err != nil {
		t.Errorf("a route without admission policy: %v", err)
	}
}

// TestGovernorSeries: the governor New builds exports its breaker series
// with the service labels on the middleware's registry, and no gRPC call
// series (requests are counted by http_request_duration_seconds).
func TestGovernorSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(getOrderRoute(getOrderPolicy(0)), WithRegisterer(reg), WithService("orders", "test", "eu")); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP govern_breaker_state State of a govern circuit breaker: 0 closed, 1 half-open, 2 open.
# TYPE govern_breaker_state gauge
govern_breaker_state{env="test",grpc_method="GetOrder",grpc_service="orders.v1.OrderService",region="eu",service="orders",tier="unspecified"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), metrics.BreakerState); err != nil {
		t.Error(err)
	}
	for _, name := range []string{metrics.StartedTotal, metrics.HandledTotal} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != 0 {
			t.Errorf("%s: %d series (%v), want none", name, n, err)
		}
	}
}
