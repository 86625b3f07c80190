package tracing

import (
	"context"

	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// UnaryClientInterceptor injects the trace context of each call's context
// (the governed server span of the call being handled, sampled or not)
// into its outgoing metadata with p (nil: Propagator(): traceparent, b3
// and x-b3-traceid/spanid/sampled), so the called service continues the
// trace, or honours the decision not to sample it. A context without a
// span context or baggage is left alone at the cost of two lookups.
// runtime/governance puts it in every DialOptions.
func UnaryClientInterceptor(p propagation.TextMapPropagator) grpc.UnaryClientInterceptor {
	if p == nil {
		p = Propagator()
	}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(Inject(ctx, p), method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor is UnaryClientInterceptor for streams.
func StreamClientInterceptor(p propagation.TextMapPropagator) grpc.StreamClientInterceptor {
	if p == nil {
		p = Propagator()
	}
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(Inject(ctx, p), desc, cc, method, opts...)
	}
}

// Inject returns ctx with its trace context and baggage added to a copy of
// its outgoing gRPC metadata by p, or ctx itself when it carries neither.
func Inject(ctx context.Context, p propagation.TextMapPropagator) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() && baggage.FromContext(ctx).Len() == 0 {
		return ctx
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	p.Inject(ctx, metadataCarrier(md))
	return metadata.NewOutgoingContext(ctx, md)
}
