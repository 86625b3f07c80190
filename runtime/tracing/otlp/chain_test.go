package otlp_test

import (
	"context"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	_ "github.com/govkit/govern/internal/golden" // accepts go test ./... -update
	testv1 "github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/tracing/otlp"
	"github.com/govkit/govern/runtime/tracing/otlp/otlptest"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	echo     = "/govern.test.v1.OrderService/Echo"
	getOrder = "/govern.test.v1.OrderService/GetOrder"
)

func table(fullMethod string, tier policy.Tier, sampling float64) policy.Table {
	return policy.Table{fullMethod: {Tier: tier, Sampling: sampling}}
}

// front serves Echo by calling back's GetOrder with the governor's dial
// options, as a service calling its upstream does.
type front struct {
	testv1.UnimplementedOrderServiceServer
	back testv1.OrderServiceClient
	seen chan trace.SpanContext
}

func (f *front) Echo(ctx context.Context, req *testv1.EchoRequest) (*testv1.EchoResponse, error) {
	f.seen <- trace.SpanContextFromContext(ctx)
	if _, err := f.back.GetOrder(ctx, &testv1.GetOrderRequest{Id: "o-1"}); err != nil {
		return nil, err
	}
	return &testv1.EchoResponse{Message: req.GetMessage()}, nil
}

type back struct {
	testv1.UnimplementedOrderServiceServer
	seen chan trace.SpanContext
}

func (b *back) GetOrder(ctx context.Context, req *testv1.GetOrderRequest) (*testv1.Order, error) {
	b.seen <- trace.SpanContextFromContext(ctx)
	return &testv1.Order{Id: req.GetId()}, nil
}

// serve runs srv governed by gov on a loopback port until the test ends.
func serve(t *testing.T, gov *governance.Governor, srv testv1.OrderServiceServer) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(gov.ServerOptions()...)
	testv1.RegisterOrderServiceServer(s, srv)
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(lis) }()
	t.Cleanup(func() { s.Stop(); <-done })
	return lis.Addr().String()
}

// runChain builds the front service (Echo at frontRatio) calling the back
// service (GetOrder, gold, 100%), each with its own exporting
// TracerProvider, makes one call, flushes both providers and returns the
// span contexts the two handlers saw.
func runChain(t *testing.T, frontRatio float64) (frontSeen, backSeen trace.SpanContext) {
	t.Helper()
	ctx := t.Context()
	backTable, frontTable := table(getOrder, policy.TierGold, 1), table(echo, policy.TierBronze, frontRatio)

	backTP, err := otlp.NewTracerProvider(ctx, backTable, otlp.WithService("back", "test", "us-west-2", "1"))
	if err != nil {
		t.Fatal(err)
	}
	backGov, err := governance.New(backTable, governance.WithService("back", "test", "us-west-2"), governance.WithTracerProvider(backTP))
	if err != nil {
		t.Fatal(err)
	}
	b := &back{seen: make(chan trace.SpanContext, 1)}
	backAddr := serve(t, backGov, b)

	frontTP, err := otlp.NewTracerProvider(ctx, frontTable, otlp.WithService("front", "test", "us-west-2", "1"))
	if err != nil {
		t.Fatal(err)
	}
	frontGov, err := governance.New(frontTable, governance.WithService("front", "test", "us-west-2"), governance.WithTracerProvider(frontTP))
	if err != nil {
		t.Fatal(err)
	}
	dial, err := frontGov.DialOptionsFor(backTable)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(backAddr, append(dial, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	f := &front{back: testv1.NewOrderServiceClient(conn), seen: make(chan trace.SpanContext, 1)}
	frontAddr := serve(t, frontGov, f)

	callerConn, err := grpc.NewClient(frontAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer callerConn.Close()
	if _, err := testv1.NewOrderServiceClient(callerConn).Echo(ctx, &testv1.EchoRequest{Message: "hi"}); err != nil {
		t.Fatal(err)
	}
	for _, tp := range []interface{ Shutdown(context.Context) error }{frontTP, backTP} {
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Fatalf("flushing spans on shutdown: %v", err)
		}
	}
	return <-f.seen, <-b.seen
}

// TestChainedServicesShareOneTrace: the front service samples its root
// call; its outgoing call carries the trace context, so the back service's
// span joins the same trace as the front span's child, and both reach the
// OTLP receiver.
func TestChainedServicesShareOneTrace(t *testing.T) {
	recv := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.Endpoint())
	frontSeen, backSeen := runChain(t, 1)

	spans := recv.WaitFor(2, 10*time.Second)
	if len(spans) != 2 {
		t.Fatalf("receiver got %d spans, want the front and back server spans: %+v", len(spans), spans)
	}
	byService := map[string]otlptest.Span{}
	for _, s := range spans {
		byService[s.Service] = s
	}
	f, b := byService["front"], byService["back"]
	if f.Name != "govern.test.v1.OrderService/Echo" || b.Name != "govern.test.v1.OrderService/GetOrder" {
		t.Fatalf("spans %+v", spans)
	}
	if f.TraceID != b.TraceID || f.ParentSpanID != "" || b.ParentSpanID != f.SpanID {
		t.Fatalf("front %+v and back %+v: want one trace, back's parent = front's span", f, b)
	}
	if frontSeen.TraceID().String() != f.TraceID || backSeen.SpanID().String() != b.SpanID {
		t.Errorf("handlers saw %v and %v, exported %+v %+v", frontSeen, backSeen, f, b)
	}
}

// TestUnsampledRootStaysUnsampled: the front service does not sample its
// root call (0%); the decision travels with the call, so the back service,
// whose method samples 100% of its own roots, honours it and exports
// nothing, while both handlers see the same trace id (for the logs).
func TestUnsampledRootStaysUnsampled(t *testing.T) {
	recv := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.Endpoint())
	frontSeen, backSeen := runChain(t, 0)

	if spans := recv.Spans(); len(spans) != 0 {
		t.Fatalf("exported %+v: the back service sampled a call its caller had decided not to sample", spans)
	}
	if !frontSeen.IsValid() || frontSeen.IsSampled() || backSeen.TraceID() != frontSeen.TraceID() || backSeen.IsSampled() {
		t.Fatalf("front saw %v, back saw %v: want one unsampled trace id across the chain", frontSeen, backSeen)
	}
}
