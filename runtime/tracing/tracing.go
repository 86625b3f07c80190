package tracing

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"

	"go.opentelemetry.io/contrib/propagators/b3"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/govkit/govern/runtime/policy"
)

// InstrumentationName names govern's tracer.
const InstrumentationName = "github.com/govkit/govern/runtime/tracing"

// Propagator returns the propagator of a governed service: W3C trace
// context and baggage, and B3 in both its single-header (`b3`) and
// multi-header (`x-b3-traceid`, ...) forms, extracting whichever a caller
// sent and injecting all of them so that both W3C and Zipkin-era
// neighbours continue the trace.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{},
		propagation.Baggage{},
		b3.New(b3.WithInjectEncoding(b3.B3MultipleHeader|b3.B3SingleHeader)),
	)
}

// SpanName is the span name of a full method, "/pkg.Svc/M" -> "pkg.Svc/M",
// as otelgrpc names them.
func SpanName(fullMethod string) string { return strings.TrimPrefix(fullMethod, "/") }

// ratioBound is the trace-id threshold of ratio, as in
// sdktrace.TraceIDRatioBased: sample when the id's low 63 bits are below it.
func ratioBound(ratio float64) uint64 {
	switch {
	case ratio >= 1:
		return 1 << 63
	case ratio <= 0:
		return 0
	default:
		return uint64(ratio * (1 << 63))
	}
}

// decidedKey marks a context whose root sampling decision the governed
// chain already took from the policy; the sampler honours it instead of
// deciding a second time.
type decidedKey struct{}

// Option configures NewSampler and NewServer.
type Option func(*settings)

// SamplerOption is the former name of Option.
type SamplerOption = Option

type settings struct {
	defaultRatio float64
	capped       bool
	cap          float64
	exempt       map[policy.Tier]bool
}

func newSettings(opts []Option) settings {
	s := settings{defaultRatio: policy.TierBronze.DefaultSampling()}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// rootRatio is the root sampling ratio of a method with the policy ratio
// and tier given, after the production cap.
func (s *settings) rootRatio(ratio float64, tier policy.Tier) float64 {
	if s.capped && !s.exempt[tier] && ratio > s.cap {
		return s.cap
	}
	return ratio
}

// WithDefaultRatio sets the ratio of root spans whose name is not a table
// method (default 0.01, the bronze tier's). NewSampler only.
func WithDefaultRatio(ratio float64) Option {
	return func(s *settings) { s.defaultRatio = ratio }
}

// WithProductionCap caps the root sampling ratio of every method at ratio
// when env is a production environment (policy.IsProduction), whatever its
// tier or explicit `sampling` says, so that a TIER_GOLD method (100% by
// default) samples at most ratio of its root calls in production. Tiers
// in exempt keep their policy ratio: an exemption is explicit, never a
// default. Outside production it does nothing. Propagated decisions are
// never capped: a call whose caller sampled it is traced.
//
// runtime/governance applies WithProductionCap(env,
// policy.MaxProductionSampling) by default; a config's `sampling` replaces
// it through governance.WithTracingOptions.
func WithProductionCap(env string, ratio float64, exempt ...policy.Tier) Option {
	return func(s *settings) {
		if !policy.IsProduction(env) {
			return
		}
		s.capped, s.cap, s.exempt = true, ratio, make(map[policy.Tier]bool, len(exempt))
		for _, t := range exempt {
			s.exempt[t] = true
		}
	}
}

// NewSampler returns the sampler to configure a TracerProvider with:
// parent-based (a span with a parent follows the parent's decision), and for
// root spans the ratio of the method the span is named after
// (policy.Method.Sampling: the explicit ratio or the tier's 100% / 10% /
// 1%, capped in production by WithProductionCap). The decision is a
// function of the trace id, so all services sampling one trace at the same
// ratio agree; the parent's tracestate is kept.
func NewSampler(table policy.Table, opts ...Option) sdktrace.Sampler {
	set := newSettings(opts)
	s := &methodSampler{bounds: make(map[string]uint64, len(table)), defaultBound: ratioBound(set.rootRatio(set.defaultRatio, policy.TierUnspecified))}
	for name, m := range table {
		s.bounds[SpanName(name)] = ratioBound(set.rootRatio(m.Sampling, m.Tier))
	}
	return sdktrace.ParentBased(s)
}

type methodSampler struct {
	bounds       map[string]uint64
	defaultBound uint64
}

func (s *methodSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	ts := trace.SpanContextFromContext(p.ParentContext).TraceState()
	if p.ParentContext != nil && p.ParentContext.Value(decidedKey{}) != nil {
		return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: ts}
	}
	bound, ok := s.bounds[p.Name]
	if !ok {
		bound = s.defaultBound
	}
	decision := sdktrace.Drop
	if binary.BigEndian.Uint64(p.TraceID[8:16])>>1 < bound {
		decision = sdktrace.RecordAndSample
	}
	return sdktrace.SamplingResult{Decision: decision, Tracestate: ts}
}

func (s *methodSampler) Description() string {
	return fmt.Sprintf("GovernMethodSampler{methods:%d}", len(s.bounds))
}

// Server starts the server spans of governed methods.
type Server struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	settings   settings
}

// NewServer returns a Server on tp's tracer and propagator p (nil:
// Propagator()). Give it the same WithProductionCap as the TracerProvider's
// NewSampler.
func NewServer(tp trace.TracerProvider, p propagation.TextMapPropagator, opts ...Option) *Server {
	if p == nil {
		p = Propagator()
	}
	return &Server{tracer: tp.Tracer(InstrumentationName), propagator: p, settings: newSettings(opts)}
}

// Propagator returns the server's propagator.
func (s *Server) Propagator() propagation.TextMapPropagator { return s.propagator }

// Method returns the span starter of one governed method.
func (s *Server) Method(p *policy.Method) *MethodTracer {
	return &MethodTracer{
		server: s,
		name:   SpanName(p.FullMethod),
		bound:  ratioBound(s.settings.rootRatio(p.Sampling, p.Tier)),
		start: []trace.SpanStartOption{
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				attribute.String("rpc.system", "grpc"),
				attribute.String("rpc.service", p.Service),
				attribute.String("rpc.method", p.Name),
				attribute.String("govern.tier", p.Tier.String()),
			),
		},
	}
}

// MethodTracer starts spans for one method.
type MethodTracer struct {
	server *Server
	name   string
	bound  uint64
	start  []trace.SpanStartOption
}

// Start continues the trace the caller propagated in the incoming gRPC
// metadata (W3C or B3), or starts a root span with probability of the
// method's sampling ratio.
//
// It returns a nil span when the call is not traced, but the context
// always carries a valid span context, so the decision travels downstream
// (traceparent flags 00, x-b3-sampled 0) and the next service honours it
// instead of sampling the call again as a new root: an unsampled root gets
// fresh trace and span ids with the sampled flag off, and an unsampled
// propagated parent is passed on as it came. Neither touches the SDK, so
// the 99% of bronze calls that are not sampled cost three random numbers
// and a context value. Logs still get the trace_id of unsampled calls.
func (m *MethodTracer) Start(ctx context.Context) (context.Context, trace.Span) {
	if hasTraceHeaders(ctx) {
		ctx = m.server.propagator.Extract(ctx, metadataCarrier(incoming(ctx)))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		if !sc.IsSampled() {
			return ctx, nil
		}
	} else {
		if m.bound == 0 || (m.bound < 1<<63 && rand.Uint64()>>1 >= m.bound) {
			return trace.ContextWithSpanContext(ctx, unsampledRoot()), nil
		}
		ctx = context.WithValue(ctx, decidedKey{}, true)
	}
	return m.server.tracer.Start(ctx, m.name, m.start...)
}

// unsampledRoot returns a new span context with random ids and the sampled
// flag off.
func unsampledRoot() trace.SpanContext {
	var cfg trace.SpanContextConfig
	for cfg.TraceID == (trace.TraceID{}) {
		binary.BigEndian.PutUint64(cfg.TraceID[:8], rand.Uint64())
		binary.BigEndian.PutUint64(cfg.TraceID[8:], rand.Uint64())
	}
	for cfg.SpanID == (trace.SpanID{}) {
		binary.BigEndian.PutUint64(cfg.SpanID[:], rand.Uint64())
	}
	return trace.NewSpanContext(cfg)
}

// End ends span (nil is allowed) with the call's status, marking server
// failures as span errors as otelgrpc does.
func End(span trace.Span, code codes.Code, err error) {
	if span == nil {
		return
	}
	span.SetAttributes(attribute.Int64("rpc.grpc.status_code", int64(code)))
	switch code {
	case codes.Unknown, codes.DeadlineExceeded, codes.Unimplemented, codes.Internal, codes.Unavailable, codes.DataLoss:
		msg := code.String()
		if err != nil {
			msg = err.Error()
		}
		span.SetStatus(otelcodes.Error, msg)
	}
	span.End()
}

// traceHeaders are the metadata keys that carry a propagated parent.
var traceHeaders = [...]string{"traceparent", "b3", "x-b3-traceid"}

// hasTraceHeaders looks the headers up one by one: unlike
// metadata.FromIncomingContext it copies nothing when none is present.
func hasTraceHeaders(ctx context.Context) bool {
	for _, h := range traceHeaders {
		if len(metadata.ValueFromIncomingContext(ctx, h)) > 0 {
			return true
		}
	}
	return false
}

func incoming(ctx context.Context) metadata.MD {
	md, _ := metadata.FromIncomingContext(ctx)
	return md
}

// metadataCarrier adapts gRPC metadata to propagation.TextMapCarrier.
type metadataCarrier metadata.MD

func (c metadataCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c metadataCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// MetadataCarrier returns md as a propagation.TextMapCarrier, for injecting
// the trace context into outgoing metadata.
func MetadataCarrier(md metadata.MD) propagation.TextMapCarrier { return metadataCarrier(md) }
