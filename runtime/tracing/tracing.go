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

// SamplerOption configures NewSampler.
type SamplerOption func(*methodSampler)

// WithDefaultRatio sets the ratio of root spans whose name is not a table
// method (default 0.01, the bronze tier's).
func WithDefaultRatio(ratio float64) SamplerOption {
	return func(s *methodSampler) { s.defaultBound = ratioBound(ratio) }
}

// NewSampler returns the sampler to configure a TracerProvider with:
// parent-based (a span with a parent follows the parent's decision), and for
// root spans the ratio of the method the span is named after
// (policy.Method.Sampling: the explicit ratio or the tier's 100% / 10% /
// 1%). The decision is a function of the trace id, so all services sampling
// one trace at the same ratio agree; the parent's tracestate is kept.
func NewSampler(table policy.Table, opts ...SamplerOption) sdktrace.Sampler {
	s := &methodSampler{bounds: make(map[string]uint64, len(table)), defaultBound: ratioBound(policy.TierBronze.DefaultSampling())}
	for name, m := range table {
		s.bounds[SpanName(name)] = ratioBound(m.Sampling)
	}
	for _, o := range opts {
		o(s)
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
}

// NewServer returns a Server on tp's tracer and propagator p (nil:
// Propagator()).
func NewServer(tp trace.TracerProvider, p propagation.TextMapPropagator) *Server {
	if p == nil {
		p = Propagator()
	}
	return &Server{tracer: tp.Tracer(InstrumentationName), propagator: p}
}

// Propagator returns the server's propagator.
func (s *Server) Propagator() propagation.TextMapPropagator { return s.propagator }

// Method returns the span starter of one governed method.
func (s *Server) Method(p *policy.Method) *MethodTracer {
	return &MethodTracer{
		server: s,
		name:   SpanName(p.FullMethod),
		bound:  ratioBound(p.Sampling),
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
// method's sampling ratio. It returns a nil span when the call is not
// traced: an unsampled root call costs one random number and no
// allocation. A call with a propagated parent always gets a span (recording
// or not, as the parent decided) so the trace context reaches downstream
// calls.
func (m *MethodTracer) Start(ctx context.Context) (context.Context, trace.Span) {
	if hasTraceHeaders(ctx) {
		ctx = m.server.propagator.Extract(ctx, metadataCarrier(incoming(ctx)))
	}
	if !trace.SpanContextFromContext(ctx).IsValid() {
		if m.bound == 0 || (m.bound < 1<<63 && rand.Uint64()>>1 >= m.bound) {
			return ctx, nil
		}
		ctx = context.WithValue(ctx, decidedKey{}, true)
	}
	return m.server.tracer.Start(ctx, m.name, m.start...)
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
