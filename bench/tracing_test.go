package bench

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"

	"github.com/govkit/govern/runtime/tracing"
)

// BenchmarkTracing compares the per-call tracing work of the governed chain
// (tracing.MethodTracer at the method's 10%) with otelgrpc's stats handler
// driven through the events grpc-go emits for a unary call, on the same
// TracerProvider and sampler. It decides whether the chain can use otelgrpc
// within its 1 µs budget.
func BenchmarkTracing(b *testing.B) {
	table := benchTable()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tracing.NewSampler(table)))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx := context.Background()

	b.Run("govern", func(b *testing.B) {
		mt := tracing.NewServer(tp, nil).Method(table[fullMethod])
		b.ReportAllocs()
		for b.Loop() {
			_, span := mt.Start(ctx)
			tracing.End(span, codes.OK, nil)
		}
	})
	b.Run("otelgrpc-stats-handler", func(b *testing.B) {
		h := otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp))
		tag := &stats.RPCTagInfo{FullMethodName: fullMethod}
		b.ReportAllocs()
		for b.Loop() {
			now := time.Now()
			c := h.TagRPC(ctx, tag)
			h.HandleRPC(c, &stats.Begin{BeginTime: now})
			h.HandleRPC(c, &stats.InPayload{Payload: response, Length: 16, WireLength: 21, RecvTime: now})
			h.HandleRPC(c, &stats.OutPayload{Payload: response, Length: 16, WireLength: 21, SentTime: now})
			h.HandleRPC(c, &stats.End{BeginTime: now, EndTime: time.Now()})
		}
	})
}
