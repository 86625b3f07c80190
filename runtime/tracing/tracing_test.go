package tracing

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/govkit/govern/runtime/policy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func method(name string, tier policy.Tier, sampling float64) *policy.Method {
	return &policy.Method{FullMethod: "/shop.v1.Orders/" + name, Service: "shop.v1.Orders", Name: name, Tier: tier, Sampling: sampling}
}

func testTable() policy.Table {
	t := policy.Table{}
	for _, m := range []*policy.Method{
		method("Gold", policy.TierGold, policy.TierGold.DefaultSampling()),
		method("Silver", policy.TierSilver, policy.TierSilver.DefaultSampling()),
		method("Bronze", policy.TierBronze, policy.TierBronze.DefaultSampling()),
		method("Explicit", policy.TierGold, 0.5),
		method("Never", policy.TierSilver, 0),
	} {
		t[m.FullMethod] = m
	}
	return t
}

func randomTraceID(r *rand.Rand) trace.TraceID {
	var id trace.TraceID
	for i := range id {
		id[i] = byte(r.UintN(256))
	}
	return id
}

func TestSamplerMatchesTier(t *testing.T) {
	sampler := NewSampler(testTable(), WithDefaultRatio(0.2))
	tests := []struct {
		span     string
		ratio    float64
		tolerate float64
	}{
		{"shop.v1.Orders/Gold", 1, 0},
		{"shop.v1.Orders/Silver", 0.1, 0.01},
		{"shop.v1.Orders/Bronze", 0.01, 0.003},
		{"shop.v1.Orders/Explicit", 0.5, 0.02},
		{"shop.v1.Orders/Never", 0, 0},
		{"other.Service/NotInTable", 0.2, 0.015},
	}
	const n = 40000
	for _, tt := range tests {
		t.Run(tt.span, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			sampled := 0
			for range n {
				res := sampler.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: randomTraceID(r), Name: tt.span})
				if res.Decision == sdktrace.RecordAndSample {
					sampled++
				}
			}
			got := float64(sampled) / n
			if got < tt.ratio-tt.tolerate || got > tt.ratio+tt.tolerate {
				t.Fatalf("sampled %.4f of root spans, want %.4f ± %.4f", got, tt.ratio, tt.tolerate)
			}
		})
	}
}

func TestSamplerFollowsParentAndKeepsTracestate(t *testing.T) {
	sampler := NewSampler(testTable())
	ts, err := trace.ParseTraceState("vendor=abc")
	if err != nil {
		t.Fatal(err)
	}
	traceID := trace.TraceID{1}
	tests := []struct {
		name          string
		span          string
		parentSampled bool
		want          sdktrace.SamplingDecision
	}{
		{"sampled parent wins over bronze", "shop.v1.Orders/Bronze", true, sdktrace.RecordAndSample},
		{"unsampled parent wins over gold", "shop.v1.Orders/Gold", false, sdktrace.Drop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags := trace.TraceFlags(0)
			if tt.parentSampled {
				flags = trace.FlagsSampled
			}
			parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: trace.SpanID{2}, TraceFlags: flags, TraceState: ts, Remote: true})
			res := sampler.ShouldSample(sdktrace.SamplingParameters{
				ParentContext: trace.ContextWithRemoteSpanContext(context.Background(), parent), TraceID: traceID, Name: tt.span,
			})
			if res.Decision != tt.want {
				t.Fatalf("decision = %v, want %v", res.Decision, tt.want)
			}
			if res.Tracestate.String() != "vendor=abc" {
				t.Fatalf("tracestate = %q, want vendor=abc", res.Tracestate.String())
			}
		})
	}
}

func TestPropagatorFormats(t *testing.T) {
	const traceHex = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		name string
		md   metadata.MD
	}{
		{"w3c", metadata.Pairs("traceparent", "00-"+traceHex+"-00f067aa0ba902b7-01")},
		{"b3 single", metadata.Pairs("b3", traceHex+"-00f067aa0ba902b7-1")},
		{"b3 multi", metadata.Pairs("x-b3-traceid", traceHex, "x-b3-spanid", "00f067aa0ba902b7", "x-b3-sampled", "1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := Propagator().Extract(context.Background(), MetadataCarrier(tt.md))
			sc := trace.SpanContextFromContext(ctx)
			if sc.TraceID().String() != traceHex || !sc.IsSampled() || !sc.IsRemote() {
				t.Fatalf("extracted %+v", sc)
			}
			out := metadata.MD{}
			Propagator().Inject(ctx, MetadataCarrier(out))
			for _, h := range []string{"traceparent", "b3", "x-b3-traceid"} {
				if len(out.Get(h)) == 0 {
					t.Errorf("injected no %s header: %v", h, out)
				}
			}
		})
	}
}

func newRecordingServer(t *testing.T, table policy.Table) (*Server, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(NewSampler(table)), sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return NewServer(tp, nil), rec
}

func TestMethodTracerStart(t *testing.T) {
	table := testTable()
	srv, rec := newRecordingServer(t, table)

	// Gold: every root call is traced.
	ctx, span := srv.Method(table["/shop.v1.Orders/Gold"]).Start(context.Background())
	if span == nil || !trace.SpanContextFromContext(ctx).IsSampled() {
		t.Fatal("gold root call not traced")
	}
	End(span, codes.Internal, nil)
	ended := rec.Ended()
	if len(ended) != 1 || ended[0].Name() != "shop.v1.Orders/Gold" || ended[0].SpanKind() != trace.SpanKindServer || ended[0].Status().Code != 1 {
		t.Fatalf("recorded %+v", ended)
	}

	// Never: no span at the root, but an unsampled span context in the
	// context, so the decision travels downstream.
	ctx, span = srv.Method(table["/shop.v1.Orders/Never"]).Start(context.Background())
	if sc := trace.SpanContextFromContext(ctx); span != nil || !sc.IsValid() || sc.IsSampled() {
		t.Fatalf("a 0%% method's root call: span %v, context %+v; want no span and a valid unsampled context", span, sc)
	}
	out := metadata.MD{}
	Propagator().Inject(ctx, MetadataCarrier(out))
	if tp := out.Get("traceparent"); len(tp) != 1 || !strings.HasSuffix(tp[0], "-00") || out.Get("x-b3-sampled")[0] != "0" {
		t.Fatalf("unsampled root injects %v, want traceparent flags 00 and x-b3-sampled 0", out)
	}
	End(nil, codes.OK, nil)

	// A propagated sampled parent is continued even at 0%.
	parentMD := metadata.Pairs("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	ctx, span = srv.Method(table["/shop.v1.Orders/Never"]).Start(metadata.NewIncomingContext(context.Background(), parentMD))
	if span == nil || trace.SpanContextFromContext(ctx).TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || !span.IsRecording() {
		t.Fatal("propagated sampled parent not continued")
	}
	End(span, codes.OK, nil)

	// A propagated unsampled parent is honoured even by a 100% method: no
	// span, and its trace context is passed on downstream.
	parentMD = metadata.Pairs("x-b3-traceid", "4bf92f3577b34da6a3ce929d0e0e4736", "x-b3-spanid", "00f067aa0ba902b7", "x-b3-sampled", "0")
	ctx, span = srv.Method(table["/shop.v1.Orders/Gold"]).Start(metadata.NewIncomingContext(context.Background(), parentMD))
	if sc := trace.SpanContextFromContext(ctx); span != nil || sc.IsSampled() || sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatal("propagated unsampled parent: want no span and the parent's unsampled context")
	}
	End(span, codes.OK, nil)
}

func TestRootDecisionTakenOnce(t *testing.T) {
	table := testTable()
	srv, rec := newRecordingServer(t, table)
	mt := srv.Method(table["/shop.v1.Orders/Explicit"]) // 50%
	const n = 4000
	for range n {
		_, span := mt.Start(context.Background())
		End(span, codes.OK, nil)
	}
	got := float64(len(rec.Ended())) / n
	// Deciding in the chain and again in the sampler would give 25%.
	if got < 0.45 || got > 0.55 {
		t.Fatalf("traced %.3f of calls at a 50%% policy", got)
	}
}

func TestSamplerDescription(t *testing.T) {
	if d := NewSampler(testTable()).Description(); d == "" {
		t.Fatal("empty description")
	}
	var _ propagation.TextMapCarrier = MetadataCarrier(metadata.MD{})
}

func BenchmarkStartUnsampledRoot(b *testing.B) {
	table := policy.Table{"/s.S/M": method("M", policy.TierBronze, 0)}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(NewSampler(table)))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	mt := NewServer(tp, nil).Method(table["/s.S/M"])
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, span := mt.Start(ctx)
		End(span, codes.OK, nil)
	}
}

// FuzzStartWithHeaders feeds caller-controlled trace headers to the span
// starter: whatever a caller sends, Start must not panic and must return a
// usable context, and a gold method (sampled at 100%) has a span unless the
// caller sent a valid trace context that is not sampled, whose decision is
// honoured (Start then returns no span and passes the caller's context on).
func FuzzStartWithHeaders(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1", "4bf92f3577b34da6a3ce929d0e0e4736", "vendor=x")
	f.Add("", "", "", "")
	f.Add("ff-zz", "-", "0", ",,,=")
	table := testTable()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(NewSampler(table)))
	f.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	mt := NewServer(tp, nil).Method(table["/shop.v1.Orders/Gold"])
	f.Fuzz(func(t *testing.T, traceparent, b3single, b3trace, tracestate string) {
		md := metadata.MD{}
		for k, v := range map[string]string{"traceparent": traceparent, "b3": b3single, "x-b3-traceid": b3trace, "tracestate": tracestate} {
			if v != "" {
				md.Set(k, v)
			}
		}
		ctx, span := mt.Start(metadata.NewIncomingContext(context.Background(), md))
		if ctx == nil {
			t.Fatal("no context")
		}
		if sc := trace.SpanContextFromContext(ctx); span == nil && (!sc.IsValid() || sc.IsSampled()) {
			t.Fatalf("gold method got no span, and the context carries %+v: only a caller's valid, unsampled trace context may leave it without one", sc)
		}
		End(span, codes.OK, nil)
	})
}

// TestProductionCap: in production a gold method (100% by policy) samples
// at most the cap at the root, an exempted tier keeps its ratio, a sampled
// parent is still honoured, and outside production nothing changes.
func TestProductionCap(t *testing.T) {
	table := testTable()
	gold, silver := table["/shop.v1.Orders/Gold"], table["/shop.v1.Orders/Silver"]
	rootRatio := func(mt *MethodTracer) float64 {
		const n = 20000
		sampled := 0
		for range n {
			ctx, span := mt.Start(context.Background())
			if span != nil && trace.SpanContextFromContext(ctx).IsSampled() {
				sampled++
			}
			End(span, codes.OK, nil)
		}
		return float64(sampled) / n
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(NewSampler(table, WithProductionCap("production", 0.01))))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	capped := NewServer(tp, nil, WithProductionCap("production", 0.01))
	if got := rootRatio(capped.Method(gold)); got > 0.02 {
		t.Errorf("production gold root ratio %.4f, want <= 0.01 (+noise)", got)
	}
	parentMD := metadata.Pairs("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if _, span := capped.Method(gold).Start(metadata.NewIncomingContext(context.Background(), parentMD)); span == nil || !span.IsRecording() {
		t.Error("production cap dropped a call its caller sampled")
	}
	exempt := NewServer(tp, nil, WithProductionCap("prod", 0.01, policy.TierGold))
	if got := rootRatio(exempt.Method(gold)); got != 1 {
		t.Errorf("exempted gold root ratio %.4f, want 1", got)
	}
	if got := rootRatio(exempt.Method(silver)); got > 0.02 {
		t.Errorf("silver (not exempted) root ratio %.4f, want <= 0.01", got)
	}
	staging := NewServer(tp, nil, WithProductionCap("staging", 0.01))
	if got := rootRatio(staging.Method(gold)); got != 1 {
		t.Errorf("staging gold root ratio %.4f, want 1 (cap is production only)", got)
	}

	// The sampler applies the same cap to spans started outside the chain.
	sampler := NewSampler(table, WithProductionCap("production", 0.01))
	r := rand.New(rand.NewPCG(1, 2))
	sampled := 0
	for range 20000 {
		res := sampler.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: randomTraceID(r), Name: "shop.v1.Orders/Gold"})
		if res.Decision == sdktrace.RecordAndSample {
			sampled++
		}
	}
	if got := float64(sampled) / 20000; got > 0.02 {
		t.Errorf("sampler: production gold ratio %.4f, want <= 0.01", got)
	}
}
