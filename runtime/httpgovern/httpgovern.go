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

	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/metrics"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/problem"
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
	// governor admits every governed request (rate limit, circuit
	// breaker, policy timeout): the one WithGovernor gave, shared with the
	// gRPC side, or one New built from the routes.
	governor *governance.Governor

	ownerPrefix [8]byte
	ownerSeq    atomic.Uint64
}

// route is everything one governed operation needs, resolved in New.
type route struct {
	policy   *policy.Method
	pattern  string // the path template, the route label
	method   string
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
// spans, metric series and idempotency per governed route, and their
// admission (rate limit, circuit breaker, timeout) through a
// governance.Governor: the one WithGovernor gives, or one New builds from
// the routes' policies with WithService, WithRegisterer, WithLogger,
// WithRateLimitStore and WithTrafficGroups. Routes whose policy is
// Disabled pass straight through.
func New(routes []policy.Route, opts ...Option) (*Middleware, error) {
	c := config{service: "unknown", env: "unknown", region: "unknown", maxBody: defaultMaxBody}
	for _, o := range opts {
		o(&c)
	}
	m := &Middleware{routes: make(map[string]*route, len(routes)), logger: c.logger, maxBody: c.maxBody, failOpen: c.failOpen, propagator: c.propagator}
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
	labelled := prometheus.WrapRegistererWith(prometheus.Labels{"service": c.service, "env": c.env, "region": c.region}, reg)
	buckets := c.buckets
	if buckets == nil {
		buckets = prometheus.DefBuckets
	}
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricRequestDuration,
		Help:    "Duration of governed HTTP requests, by route template, method and status code.",
		Buckets: buckets,
	}, []string{"route", "method", "code"})
	if err := labelled.Register(duration); err != nil {
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
	// admission is the policy each governed FullMethod is admitted with.
	admission := make(policy.Table, len(routes))
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
		if p.FullMethod == "" {
			return nil, fmt.Errorf("httpgovern: route %s has a policy without FullMethod, which keys its rate limit and breaker; regenerate the routes", key)
		}
		if prev := admission[p.FullMethod]; prev != nil && !sameAdmission(prev, p) {
			return nil, fmt.Errorf("httpgovern: routes of %s declare different rate limits, breakers or timeouts (route %s); give them one policy", p.FullMethod, key)
		}
		admission[p.FullMethod] = admissionOnly(p)
		rt := &route{policy: p, pattern: r.Pattern, method: r.HTTPMethod, duration: duration}
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
	var err error
	if m.governor, err = c.admitter(admission, reg, m.logger); err != nil {
		return nil, err
	}
	if needStore {
		m.store = c.store
		if m.store == nil {
			m.store = idempotency.NewMemoryStore()
		}
	}
	return m, nil
}

// admitter returns the governor that admits the requests of the routes,
// whose admission policies by FullMethod are table: the one WithGovernor
// gave, once checked against table, or a new one built from table.
func (c *config) admitter(table policy.Table, reg prometheus.Registerer, logger *slog.Logger) (*governance.Governor, error) {
	if g := c.governor; g != nil {
		switch {
		case c.rateLimitStore != nil:
			return nil, errors.New("httpgovern: WithRateLimitStore next to WithGovernor: the governor's limits serve both transports, so give its store to governance.New (governance.WithRateLimitStore)")
		case c.groupHeader != "" || len(c.groupValues) > 0:
			return nil, errors.New("httpgovern: WithTrafficGroups next to WithGovernor: the governor's breakers and limits serve both transports, so declare the groups on governance.New (governance.WithTrafficGroups)")
		}
		shared := g.Table()
		for fullMethod, want := range table {
			got := shared[fullMethod]
			if got == nil || got.Disabled {
				got = &policy.Method{}
			}
			if !sameAdmission(got, want) {
				return nil, fmt.Errorf("httpgovern: the governor of WithGovernor admits %s with %s, the routes declare %s; resolve both from one policy (x-govern grpc_method names the gRPC method) or leave WithGovernor out",
					fullMethod, describeAdmission(got), describeAdmission(want))
			}
		}
		return g, nil
	}
	opts := []governance.Option{
		governance.WithService(c.service, c.env, c.region),
		governance.WithRegisterer(reg),
		governance.WithLogger(logger),
		governance.WithRateLimitStore(c.rateLimitStore),
		// Requests are counted by http_request_duration_seconds; the
		// governor exports its breaker and rate-limit series only.
		governance.WithMetricsOptions(metrics.WithoutCallSeries()),
	}
	if c.groupHeader != "" || len(c.groupValues) > 0 {
		opts = append(opts, governance.WithTrafficGroups(c.groupHeader, c.groupValues...))
	}
	g, err := governance.New(table, opts...)
	if err != nil {
		return nil, fmt.Errorf("httpgovern: %w", err)
	}
	return g, nil
}

// admissionOnly is p without its idempotency policy: the middleware
// deduplicates HTTP requests itself (it fingerprints HTTP requests), so
// the governor it builds only admits them and keeps no idempotency
// server of its own.
func admissionOnly(p *policy.Method) *policy.Method {
	if p.Idempotency == nil {
		return p
	}
	a := *p
	a.Idempotency = nil
	return &a
}

// sameAdmission reports whether a and b admit calls alike: the same rate
// limit, circuit breaker and timeout.
func sameAdmission(a, b *policy.Method) bool {
	return a.Timeout == b.Timeout && equalPtr(a.RateLimit, b.RateLimit) && equalPtr(a.CircuitBreaker, b.CircuitBreaker)
}

func equalPtr[T comparable](a, b *T) bool {
	return a == b || a != nil && b != nil && *a == *b
}

// describeAdmission says how p admits calls, for errors.
func describeAdmission(p *policy.Method) string {
	s := "no timeout"
	if p.Timeout > 0 {
		s = "timeout " + p.Timeout.String()
	}
	if rl := p.RateLimit; rl != nil {
		s += fmt.Sprintf(", rate limit %g rps burst %d (%s)", rl.RPS, rl.Burst, rl.Scope)
	} else {
		s += ", no rate limit"
	}
	if cb := p.CircuitBreaker; cb != nil {
		s += fmt.Sprintf(", breaker at failure ratio %g of %d+ calls in %v, open %v, %d half-open probes", cb.FailureRatio, cb.MinRequests, cb.Window, cb.OpenFor, cb.HalfOpenRequests)
	} else {
		s += ", no breaker"
	}
	return s
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
	incoming := r.Context()
	ctx := incoming
	var span trace.Span
	if rt.tracer != nil {
		ctx, span = rt.tracer.Start(m.propagator.Extract(ctx, propagation.HeaderCarrier(r.Header)))
	}
	var admission governance.Admission
	defer func() {
		panicked := false
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler { //nolint:errorlint // a sentinel panic value, compared as net/http does
				admission.Done(context.Canceled)
				panic(p)
			}
			m.logger.ErrorContext(ctx, "panic serving a governed HTTP request", "route", rt.pattern, "method", rt.method, "panic", fmt.Sprint(p))
			if !rec.wrote {
				problem.Write(rec, errPanic, rt.pattern)
			}
			rec.status = http.StatusInternalServerError
			panicked = true
		}
		code := outcome(incoming, rec, panicked)
		end := time.Now()
		admission.DoneAt(outcomeErrors[code], end)
		m.finish(rt, rec, span, end.Sub(start), code)
	}()
	admitted, admission, err := m.governor.AdmitAt(ctx, rt.policy.FullMethod, start, r.Header)
	if err != nil {
		problem.Write(rec, err, rt.pattern)
		return
	}
	if admitted != incoming {
		r = r.WithContext(admitted)
	}
	if rt.idem != nil {
		m.idempotent(rt, rec, r, next)
	} else {
		next.ServeHTTP(rec, r)
	}
	if !rec.wrote && errors.Is(admitted.Err(), context.DeadlineExceeded) {
		problem.Write(rec, status.Error(codes.DeadlineExceeded, "deadline exceeded"), rt.pattern)
	}
}

// errPanic answers a request whose handler panicked before answering.
var errPanic = status.Error(codes.Internal, "panic")

// outcome is the gRPC code of a governed request's end, the one
// classification both transports share: the breaker (through
// Admission.Done and breaker.IsFailure), the span and the metrics read the
// same outcome of a gRPC call and of an HTTP request alike. A panic is
// INTERNAL; a request whose client went away is CANCELLED, whatever the
// handler wrote to nobody; otherwise the status answered stands for its
// code (problem.CodeOf), 200 when the handler wrote nothing.
func outcome(incoming context.Context, rec *recorder, panicked bool) codes.Code {
	switch {
	case panicked:
		return codes.Internal
	case errors.Is(incoming.Err(), context.Canceled):
		return codes.Canceled
	case !rec.wrote:
		return codes.OK // net/http answers 200 for a handler that writes nothing
	}
	return problem.CodeOf(rec.status)
}

// outcomeErrors holds, per code, the error Admission.Done gets for an
// outcome of that code (nil for OK), built once so that ending a request
// allocates nothing.
var outcomeErrors = func() (errs [codes.Unauthenticated + 1]error) {
	for c := range errs {
		if c != int(codes.OK) {
			errs[c] = status.Error(codes.Code(c), "an HTTP request ended with "+codes.Code(c).String())
		}
	}
	return errs
}()

func (m *Middleware) finish(rt *route, rec *recorder, span trace.Span, elapsed time.Duration, outcome codes.Code) {
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
	obs.Observe(elapsed.Seconds())
	if span != nil {
		tracing.End(span, outcome, nil)
	}
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
