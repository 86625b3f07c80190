package governance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/breaker"
	"github.com/govkit/govern/runtime/client"
	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/logging"
	"github.com/govkit/govern/runtime/metrics"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/ratelimit"
	"github.com/govkit/govern/runtime/recovery"
	"github.com/govkit/govern/runtime/timeout"
	"github.com/govkit/govern/runtime/tracing"
)

// Governor applies a policy table to a gRPC server. Build it once with New
// and install it with ServerOptions (or the two interceptors).
type Governor struct {
	table   policy.Table
	methods map[string]*method

	registry   *prometheus.Registry
	registerer prometheus.Registerer
	gatherer   prometheus.Gatherer
	logger     *slog.Logger
	tracer     *tracing.Server
	propagator propagation.TextMapPropagator
	service    string
	codeLevel  func(codes.Code) slog.Level
	// groups are the traffic groups, DefaultTrafficGroup first, read from
	// the request header groupHeader (lower case).
	groups      []string
	groupHeader string
	audit       *breakerAudit
	// deadlines closes the Done channels of every governed call's policy
	// deadline: one timer wheel per governor instead of a timer per call.
	deadlines *timeout.Wheel
	// idempotent is the idempotency server's interceptor, nil when no
	// method of the table deduplicates calls.
	idempotent grpc.UnaryServerInterceptor
	// resolution resolves and balances the targets of DialOptionsFor; nil
	// leaves grpc-go's defaults.
	resolution client.Resolution
}

// method is everything the chain needs for one governed method, resolved
// once in New so that a call does no lookups beyond the first.
type method struct {
	policy *policy.Method
	series *metrics.MethodSeries
	// limiters and breakers hold one per traffic group, the default group
	// first; nil when the policy declares none.
	limiters []*ratelimit.Limiter
	breakers []*breaker.Breaker
	tracer   *tracing.MethodTracer
	// info is passed to the idempotency interceptor; nil when the method
	// does not deduplicate.
	info *grpc.UnaryServerInfo
}

// unknownLabel is the value of const labels left unset.
const unknownLabel = "unknown"

// New builds the governor of table: a rate limiter, circuit breaker and
// metric series for every method that declares them, all metric series
// created at zero, and the collectors registered on the configured
// registerer. Methods absent from the table or Disabled pass straight
// through.
func New(table policy.Table, opts ...Option) (*Governor, error) {
	c := config{service: unknownLabel, env: unknownLabel, region: unknownLabel}
	for _, o := range opts {
		o(&c)
	}
	for label, v := range map[string]string{"service": c.service, "env": c.env, "region": c.region} {
		if v == "" {
			return nil, fmt.Errorf("governance: WithService got an empty %s; give every metric series a real %s (or leave WithService out for %q)", label, label, unknownLabel)
		}
	}
	g := &Governor{
		resolution: c.resolution, table: table, methods: make(map[string]*method, len(table)), logger: c.logger, service: c.service, codeLevel: c.codeLevel,
		deadlines: timeout.NewWheel()}
	groups, err := trafficGroups(c.groupHeader, c.groupValues)
	if err != nil {
		return nil, fmt.Errorf("governance: WithTrafficGroups: %w", err)
	}
	g.groups, g.groupHeader = groups, strings.ToLower(c.groupHeader)
	if g.codeLevel == nil {
		g.codeLevel = logging.CodeLevel
	}
	if g.logger == nil {
		g.logger = logging.New(os.Stderr, slog.LevelInfo)
	}
	if c.registerer == nil {
		g.registry = prometheus.NewRegistry()
		c.registerer = g.registry
		g.gatherer = g.registry
	} else if gatherer, ok := c.registerer.(prometheus.Gatherer); ok {
		g.gatherer = gatherer
	}
	// The governor's own series take their label values from the table;
	// everything registered through Registerer (gateway, clients, the
	// user's metrics) goes through the cardinality guard.
	labelled := metrics.WithServiceLabels(c.registerer, c.service, c.env, c.region)
	guard, err := metrics.NewCardinalityGuard(labelled, c.guardOptions...)
	if err != nil {
		return nil, fmt.Errorf("governance: cardinality guard: %w", err)
	}
	g.registerer = guard

	serverMetrics, err := metrics.RegisterOrReuse(labelled, metrics.NewServerMetrics(c.metricsOptions...))
	if err != nil {
		return nil, fmt.Errorf("governance: registering the gRPC server metrics failed; pass a registerer without conflicting metric names: %w", err)
	}
	fallbacks, err := metrics.RegisterOrReuse(labelled, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "govern_ratelimit_redis_fallback_total",
		Help: "Failed round trips to the shared store (Redis) of distributed rate limits; such calls, and the method's calls of the next second, are counted by the local limiter.",
	}))
	if err != nil {
		return nil, fmt.Errorf("governance: registering govern_ratelimit_redis_fallback_total failed: %w", err)
	}
	g.propagator = c.propagator
	if g.propagator == nil {
		g.propagator = tracing.Propagator()
	}
	if g.audit, err = newBreakerAudit(g.registerer); err != nil {
		return nil, fmt.Errorf("governance: registering the circuit breaker audit series failed: %w", err)
	}
	if c.tracerProvider != nil {
		tracingOpts := append([]tracing.Option{tracing.WithProductionCap(c.env, policy.MaxProductionSampling)}, c.tracingOptions...)
		g.tracer = tracing.NewServer(c.tracerProvider, g.propagator, tracingOpts...)
	}

	idempotentMethods := false
	for fullMethod, p := range table {
		if p == nil || p.Disabled {
			continue
		}
		if p.FullMethod != "" && p.FullMethod != fullMethod {
			return nil, fmt.Errorf("governance: table key %q holds the policy of %q; regenerate the policy table", fullMethod, p.FullMethod)
		}
		if p.FullMethod == "" || p.Service == "" || p.Name == "" {
			// A hand-built table: name the method from its key.
			named := *p
			named.FullMethod = fullMethod
			named.Service, named.Name = splitMethod(fullMethod)
			p = &named
		}
		m := &method{policy: p, series: serverMetrics.Method(p)}
		if p.RateLimit != nil {
			for _, group := range groups {
				prefix := ratelimit.DefaultKeyPrefix + c.service + ":"
				if group != DefaultTrafficGroup {
					prefix += "group=" + group + ":"
				}
				limiterOpts := append([]ratelimit.Option{
					ratelimit.WithStore(c.rateLimitStore),
					ratelimit.WithKeyPrefix(prefix),
					ratelimit.WithFallbackHook(func(err error) {
						fallbacks.Inc()
						g.logger.Debug("distributed rate limit fell back to the local limiter", "method", fullMethod, "group", group, "error", err)
					}),
				}, c.rateLimitOptions...)
				m.limiters = append(m.limiters, ratelimit.New(fullMethod, *p.RateLimit, limiterOpts...))
			}
		}
		if p.CircuitBreaker != nil {
			for _, group := range groups {
				name := fullMethod
				if group != DefaultTrafficGroup {
					name += " (traffic group " + group + ")"
				}
				m.breakers = append(m.breakers, breaker.New(*p.CircuitBreaker, breaker.WithName(name),
					breaker.WithStateChange(g.watch(fullMethod, group, m.series))))
			}
		}
		if g.tracer != nil {
			m.tracer = g.tracer.Method(p)
		}
		if p.Idempotency != nil && !p.Streaming() {
			m.info = &grpc.UnaryServerInfo{FullMethod: fullMethod}
			idempotentMethods = true
		}
		g.methods[fullMethod] = m
	}
	if idempotentMethods {
		store := c.idempotencyStore
		if store == nil {
			store = idempotency.NewMemoryStore()
		}
		idemOpts := append([]idempotency.Option{idempotency.WithRegisterer(g.registerer), idempotency.WithLogger(g.logger)}, c.idempotencyOptions...)
		g.idempotent = idempotency.NewServer(table, store, idemOpts...).UnaryServerInterceptor()
	}
	return g, nil
}

// splitMethod splits "/pkg.Svc/M" into "pkg.Svc" and "M".
func splitMethod(fullMethod string) (service, name string) {
	trimmed := strings.TrimPrefix(fullMethod, "/")
	if i := strings.LastIndexByte(trimmed, '/'); i >= 0 {
		return trimmed[:i], trimmed[i+1:]
	}
	return "", trimmed
}

// ServerOptions returns the options that install the governed chain on a
// grpc.Server: grpc.NewServer(g.ServerOptions()...).
func (g *Governor) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(g.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(g.StreamServerInterceptor()),
	}
}

// DialOptions returns the client side of the governor's own table for
// grpc.NewClient (service config with timeouts and native retry, adaptive
// retry, per target+method breakers, client metrics), built by
// runtime/client with the governor's labelled Registerer. Use it for
// clients of the service the table describes; DialOptionsFor takes the
// table of another service.
func (g *Governor) DialOptions(opts ...client.Option) ([]grpc.DialOption, error) {
	return g.DialOptionsFor(g.table, opts...)
}

// DialOptionsFor is DialOptions for the policy table of the service being
// called, such as inventoryv1.InventoryServicePolicy.
func (g *Governor) DialOptionsFor(table policy.Table, opts ...client.Option) ([]grpc.DialOption, error) {
	dial, err := client.DialOptions(table, append(g.clientDefaults(), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("governance: client dial options: %w", err)
	}
	// The call's trace context (the governed server span, sampled or not)
	// goes out with it, so the next service continues the trace.
	return append(dial,
		grpc.WithChainUnaryInterceptor(tracing.UnaryClientInterceptor(g.propagator)),
		grpc.WithChainStreamInterceptor(tracing.StreamClientInterceptor(g.propagator)),
	), nil
}

// Registerer returns the registerer to put every other collector on: it
// adds the service/env/region const labels and bounds each label's values
// with a metrics.CardinalityGuard (WithCardinalityGuard). Register the
// collectors of other govern packages (idempotency, client, gateway) and
// your own here so that they carry the same labels and cannot explode.
func (g *Governor) Registerer() prometheus.Registerer { return g.registerer }

// Registry returns the governor's private registry, or nil when
// WithRegisterer was given. Serve it on the admin endpoint
// (promhttp.HandlerFor(g.Registry(), ...)).
func (g *Governor) Registry() *prometheus.Registry { return g.registry }

// Gatherer returns what to scrape: the private registry, or the registerer
// passed to WithRegisterer when it is also a Gatherer (a
// *prometheus.Registry is); nil otherwise.
func (g *Governor) Gatherer() prometheus.Gatherer { return g.gatherer }

// Logger returns the governor's logger.
func (g *Governor) Logger() *slog.Logger { return g.logger }

// Table returns the policy table the governor enforces.
func (g *Governor) Table() policy.Table { return g.table }

// Breaker returns the circuit breaker of fullMethod for the default
// traffic group, or nil when the method has none.
func (g *Governor) Breaker(fullMethod string) *breaker.Breaker {
	return g.GroupBreaker(fullMethod, DefaultTrafficGroup)
}

// GroupBreaker returns the circuit breaker of fullMethod for a traffic
// group declared with WithTrafficGroups (or DefaultTrafficGroup), or nil
// when the method has none or the group is not declared.
func (g *Governor) GroupBreaker(fullMethod, group string) *breaker.Breaker {
	m := g.methods[fullMethod]
	if m == nil || m.breakers == nil {
		return nil
	}
	for i, name := range g.groups {
		if name == group {
			return m.breakers[i]
		}
	}
	return nil
}

// UnaryServerInterceptor returns the governed chain for unary calls:
// recovery, metrics/tracing/logging, rate limit, circuit breaker, timeout,
// idempotency, handler. A method not governed costs one map lookup.
func (g *Governor) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		m := g.methods[info.FullMethod]
		if m == nil {
			return handler(ctx, req)
		}
		return g.unary(ctx, m, req, handler)
	}
}

func (g *Governor) unary(ctx context.Context, m *method, req any, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	m.series.Started()
	m.series.Received()
	var span trace.Span
	if m.tracer != nil {
		ctx, span = m.tracer.Start(ctx)
	}
	var admission Admission
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, recovery.Error(ctx, g.logger, m.policy.FullMethod, r)
		}
		end := time.Now()
		admission.DoneAt(err, end)
		g.finish(ctx, m, span, end.Sub(start), err)
	}()

	admitted, admission, err := g.admit(ctx, m, start, nil)
	if err != nil {
		return nil, err
	}
	if m.info != nil {
		resp, err = g.idempotent(admitted, req, m.info, handler)
	} else {
		resp, err = handler(admitted, req)
	}
	if err == nil {
		m.series.Sent()
	}
	return resp, err
}

// finish records a finished call: metrics, span, log line.
func (g *Governor) finish(ctx context.Context, m *method, span trace.Span, elapsed time.Duration, err error) {
	code := errinfo.Code(err)
	m.series.Handled(code, elapsed)
	tracing.End(span, code, err)
	logging.LogCallAt(ctx, g.logger, g.codeLevel(code), m.policy.FullMethod, code, elapsed, err)
}

// StreamServerInterceptor returns the governed chain for streaming calls:
// recovery, metrics/tracing/logging, rate limit and circuit breaker at
// stream start, and the policy timeout (when declared) on the stream's
// context.
func (g *Governor) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		m := g.methods[info.FullMethod]
		if m == nil {
			return handler(srv, ss)
		}
		return g.stream(srv, ss, m, handler)
	}
}

func (g *Governor) stream(srv any, ss grpc.ServerStream, m *method, handler grpc.StreamHandler) (err error) {
	start := time.Now()
	m.series.Started()
	ctx := ss.Context()
	var span trace.Span
	if m.tracer != nil {
		ctx, span = m.tracer.Start(ctx)
	}
	var admission Admission
	defer func() {
		if r := recover(); r != nil {
			err = recovery.Error(ctx, g.logger, m.policy.FullMethod, r)
		}
		end := time.Now()
		admission.DoneAt(err, end)
		g.finish(ctx, m, span, end.Sub(start), err)
	}()

	admitted, admission, err := g.admit(ctx, m, start, nil)
	if err != nil {
		return err
	}
	governed := &governedStream{ServerStream: ss, ctx: admitted, series: m.series}
	if admission.bounded == nil {
		return handler(srv, governed)
	}
	return g.streamWithin(admission.bounded, m, func() error { return handler(srv, governed) })
}

// streamWithin runs a stream handler that has a policy timeout and returns
// DEADLINE_EXCEEDED when the timeout passes first. A stream handler blocked
// in RecvMsg or SendMsg waits on the transport, which only the stream's own
// context (the caller's deadline) ends; returning from the interceptor makes
// grpc-go write the status and end the stream, which unblocks the handler,
// whose context is done already. The handler runs on its own goroutine for
// that; a panic there is recovered like any other.
func (g *Governor) streamWithin(ctx *timeout.Context, m *method, run func() error) error {
	result := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				result <- recovery.Error(ctx, g.logger, m.policy.FullMethod, r)
			}
		}()
		result <- run()
	}()
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
	}
	select {
	case err := <-result: // the handler ended at the same time: its error wins
		return err
	default:
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return status.Errorf(codes.DeadlineExceeded, "%s ran past its policy timeout of %v; the stream was ended", m.policy.FullMethod, m.policy.Timeout)
	}
	return status.FromContextError(ctx.Err()).Err()
}

// governedStream gives a server stream the governed context (span,
// deadline) and counts its messages.
type governedStream struct {
	grpc.ServerStream
	ctx    context.Context
	series *metrics.MethodSeries
}

func (s *governedStream) Context() context.Context { return s.ctx }

func (s *governedStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if err == nil {
		s.series.Sent()
	}
	return err
}

func (s *governedStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.series.Received()
	}
	return err
}
