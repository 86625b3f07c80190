package httpgovern

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/breaker"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/problem"
	"github.com/govkit/govern/runtime/ratelimit"
	"github.com/govkit/govern/runtime/timeout"
	"github.com/govkit/govern/runtime/tracing"
)

// MetricRequestDuration is the histogram of governed HTTP requests, by
// route template, method and status code (the gateway's metric name).
const MetricRequestDuration = "http_request_duration_seconds"

// Middleware governs the HTTP operations of a policy table. Build it once
// with New; Handler wraps each route's handler.
type Middleware struct {
	routes     map[string]*route
	registry   *prometheus.Registry
	logger     *slog.Logger
	propagator propagation.TextMapPropagator
	store      idempotency.Store
	maxBody    int64
	failOpen   bool
	// deadlines closes the Done channels of the policy deadlines.
	deadlines *timeout.Wheel

	ownerPrefix [8]byte
	ownerSeq    atomic.Uint64
}

// route is everything one governed operation needs, resolved in New.
type route struct {
	policy   *policy.Method
	pattern  string // the path template, the route label
	method   string
	limiter  *ratelimit.Limiter
	breaker  *breaker.Breaker
	tracer   *tracing.MethodTracer
	duration *prometheus.HistogramVec
	// observers caches the histogram child of each status code.
	observers [600]atomic.Pointer[prometheus.Observer]
	idem      *idemPolicy
}

type idemPolicy struct {
	required bool
	fields   []string
	key      policy.KeyFunc
	ttl      time.Duration
	lease    time.Duration
	budget   time.Duration
}

const defaultMaxBody = 1 << 20

// New builds the middleware of routes (generated, or oasgov's Routes):
// limiters, breakers, spans and metric series per governed route. Routes
// whose policy is Disabled pass straight through.
func New(routes []policy.Route, opts ...Option) (*Middleware, error) {
	c := config{service: "unknown", env: "unknown", region: "unknown", maxBody: defaultMaxBody}
	for _, o := range opts {
		o(&c)
	}
	m := &Middleware{routes: make(map[string]*route, len(routes)), logger: c.logger, maxBody: c.maxBody, failOpen: c.failOpen, propagator: c.propagator, deadlines: timeout.NewWheel()}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	if m.propagator == nil {
		m.propagator = tracing.Propagator()
	}
	if _, err := rand.Read(m.ownerPrefix[:]); err != nil {
		return nil, fmt.Errorf("httpgovern: reading random owner prefix: %w", err)
	}
	reg := c.registerer
	if reg == nil {
		m.registry = prometheus.NewRegistry()
		reg = m.registry
	}
	reg = prometheus.WrapRegistererWith(prometheus.Labels{"service": c.service, "env": c.env, "region": c.region}, reg)
	buckets := c.buckets
	if buckets == nil {
		buckets = prometheus.DefBuckets
	}
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricRequestDuration,
		Help:    "Duration of governed HTTP requests, by route template, method and status code.",
		Buckets: buckets,
	}, []string{"route", "method", "code"})
	if err := reg.Register(duration); err != nil {
		var already prometheus.AlreadyRegisteredError
		if !errors.As(err, &already) {
			return nil, fmt.Errorf("httpgovern: registering %s failed; pass a registerer without a conflicting metric: %w", MetricRequestDuration, err)
		}
		duration = already.ExistingCollector.(*prometheus.HistogramVec)
	}
	var tracer *tracing.Server
	if c.tracerProvider != nil {
		tracer = tracing.NewServer(c.tracerProvider, m.propagator)
	}
	needStore := false
	for _, r := range routes {
		p := r.Policy
		if p == nil || p.Disabled {
			continue
		}
		if r.HTTPMethod == "" || r.Pattern == "" {
			return nil, fmt.Errorf("httpgovern: route %q of %s has no method or pattern; regenerate the routes", r.HTTPMethod+" "+r.Pattern, p.FullMethod)
		}
		key := r.HTTPMethod + " " + r.Pattern
		if m.routes[key] != nil {
			return nil, fmt.Errorf("httpgovern: route %s is declared twice", key)
		}
		rt := &route{policy: p, pattern: r.Pattern, method: r.HTTPMethod, duration: duration}
		if c.shared != nil {
			rt.limiter, rt.breaker = c.shared.Limiter(p.FullMethod), c.shared.Breaker(p.FullMethod)
		}
		if rt.limiter == nil && p.RateLimit != nil {
			rt.limiter = ratelimit.New(p.FullMethod, *p.RateLimit, ratelimit.WithStore(c.rateLimitStore),
				ratelimit.WithKeyPrefix(ratelimit.DefaultKeyPrefix+c.service+":"))
		}
		if rt.breaker == nil && p.CircuitBreaker != nil {
			rt.breaker = breaker.New(*p.CircuitBreaker, breaker.WithName(p.FullMethod))
		}
		if tracer != nil {
			rt.tracer = tracer.Method(p)
		}
		if id := p.Idempotency; id != nil {
			ip := &idemPolicy{required: id.Required, fields: id.KeyFields, key: id.Key, ttl: id.TTL, lease: id.Lease}
			if ip.ttl <= 0 {
				ip.ttl = idempotency.DefaultTTL
			}
			if ip.lease <= 0 {
				ip.lease = max(2*p.Timeout, idempotency.MinDefaultLease)
			}
			ip.budget = ip.lease - min(ip.lease/10, 2*time.Second)
			rt.idem = ip
			needStore = true
		}
		m.routes[key] = rt
	}
	if needStore {
		m.store = c.store
		if m.store == nil {
			m.store = idempotency.NewMemoryStore()
		}
	}
	return m, nil
}

// Registry is the private registry of the middleware's metrics, nil when
// WithRegisterer was given.
func (m *Middleware) Registry() *prometheus.Registry { return m.registry }

// Handler wraps a route's handler. It must run inside the ServeMux, where
// r.Pattern names the matched route ("POST /orders/{id}").
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt := m.routes[r.Pattern]
		if rt == nil {
			next.ServeHTTP(w, r)
			return
		}
		m.serve(rt, w, r, next)
	})
}

// Middleware is Handler as oapi-codegen's std-http MiddlewareFunc type.
func (m *Middleware) Middleware(next http.Handler) http.Handler { return m.Handler(next) }

func (m *Middleware) serve(rt *route, w http.ResponseWriter, r *http.Request, next http.Handler) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	ctx := r.Context()
	var span trace.Span
	if rt.tracer != nil {
		ctx, span = rt.tracer.Start(m.propagator.Extract(ctx, propagation.HeaderCarrier(r.Header)))
	}
	var permit breaker.Permit
	admitted := false
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler { //nolint:errorlint // a sentinel panic value, compared as net/http does
				panic(p)
			}
			m.logger.ErrorContext(ctx, "panic serving a governed HTTP request", "route", rt.pattern, "method", rt.method, "panic", fmt.Sprint(p))
			if !rec.wrote {
				problem.Write(rec, status.Error(codes.Internal, "panic"), rt.pattern)
			}
			rec.status = http.StatusInternalServerError
		}
		if admitted {
			permit.Record(rec.status >= 500)
		}
		m.finish(rt, rec, span, start)
	}()
	if rt.limiter != nil {
		if err := rt.limiter.AllowAt(ctx, start); err != nil {
			problem.Write(rec, err, rt.pattern)
			return
		}
	}
	if rt.breaker != nil {
		var err error
		if permit, err = rt.breaker.Allow(); err != nil {
			problem.Write(rec, err, rt.pattern)
			return
		}
		admitted = true
	}
	if bounded := m.deadlines.BoundAt(ctx, start, rt.policy.Timeout); bounded != nil {
		defer bounded.Release()
		ctx = bounded
	}
	if ctx != r.Context() {
		r = r.WithContext(ctx)
	}
	if rt.idem != nil {
		m.idempotent(rt, rec, r, next)
	} else {
		next.ServeHTTP(rec, r)
	}
	if !rec.wrote && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		problem.Write(rec, status.Error(codes.DeadlineExceeded, "deadline exceeded"), rt.pattern)
	}
}

func (m *Middleware) finish(rt *route, rec *recorder, span trace.Span, start time.Time) {
	code := rec.status
	if !rec.wrote {
		code = http.StatusOK // net/http answers 200 for a handler that writes nothing
	}
	var obs prometheus.Observer
	if code >= 100 && code < len(rt.observers) {
		if p := rt.observers[code].Load(); p != nil {
			obs = *p
		} else {
			obs = rt.duration.WithLabelValues(rt.pattern, rt.method, strconv.Itoa(code))
			rt.observers[code].Store(&obs)
		}
	} else {
		obs = rt.duration.WithLabelValues(rt.pattern, rt.method, "other")
	}
	obs.Observe(time.Since(start).Seconds())
	if span != nil {
		tracing.End(span, grpcCode(code), nil)
	}
}

// grpcCode maps a status to the code spans are ended with (failures are
// 5xx, as otelhttp marks server spans).
func grpcCode(status int) codes.Code {
	switch {
	case status < 400:
		return codes.OK
	case status == http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	case status >= 500:
		return codes.Internal
	}
	return codes.InvalidArgument
}

// recorder notes the status a handler writes and, when capture is set,
// keeps a copy of the response for idempotent replay.
type recorder struct {
	http.ResponseWriter
	status  int
	wrote   bool
	capture *capture
}

func (r *recorder) WriteHeader(code int) {
	if r.wrote {
		return
	}
	r.wrote = true
	r.status = code
	if r.capture != nil {
		r.capture.header = r.ResponseWriter.Header().Clone()
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	if c := r.capture; c != nil && !c.overflow {
		if len(c.body)+len(b) > c.limit {
			c.overflow = true
			c.body = nil
		} else {
			c.body = append(c.body, b...)
		}
	}
	return r.ResponseWriter.Write(b)
}

// Flush passes flushes through, for streaming handlers.
func (r *recorder) Flush() {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
