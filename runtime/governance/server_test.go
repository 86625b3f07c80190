package governance_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/governance"
)

// orderServer implements the test API the way its proto comments say.
type orderServer struct {
	testv1.UnimplementedOrderServiceServer
	mu    sync.Mutex
	calls map[string]int
}

func (s *orderServer) count(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[method]++
}

func (s *orderServer) callCount(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *orderServer) CreateOrder(_ context.Context, req *testv1.CreateOrderRequest) (*testv1.Order, error) {
	s.count("CreateOrder")
	return &testv1.Order{Id: "o-1", Sn: req.GetOrder().GetSn(), Status: "created"}, nil
}

func (s *orderServer) ReserveStock(_ context.Context, req *testv1.ReserveStockRequest) (*testv1.ReserveStockResponse, error) {
	s.count("ReserveStock")
	return &testv1.ReserveStockResponse{ReservationId: "r-" + req.GetSku()}, nil
}

func (s *orderServer) ChargePayment(_ context.Context, req *testv1.ChargePaymentRequest) (*testv1.ChargePaymentResponse, error) {
	s.count("ChargePayment")
	if req.GetFailCode() != 0 {
		return nil, status.Error(codes.Code(req.GetFailCode()), "payment provider failed")
	}
	return &testv1.ChargePaymentResponse{PaymentId: "p-1"}, nil
}

func (s *orderServer) SlowReport(ctx context.Context, req *testv1.SlowReportRequest) (*testv1.SlowReportResponse, error) {
	s.count("SlowReport")
	if err := sleepCtx(ctx, time.Duration(req.GetDelayMs())*time.Millisecond); err != nil {
		return nil, err
	}
	return &testv1.SlowReportResponse{Body: "report " + req.GetName()}, nil
}

func (s *orderServer) Echo(ctx context.Context, req *testv1.EchoRequest) (*testv1.EchoResponse, error) {
	s.count("Echo")
	if req.GetPanic() {
		var m map[string]int
		m[req.GetMessage()]++ // a real bug: write to a nil map
	}
	if err := sleepCtx(ctx, time.Duration(req.GetDelayMs())*time.Millisecond); err != nil {
		return nil, err
	}
	if req.GetFailCode() != 0 {
		return nil, status.Error(codes.Code(req.GetFailCode()), "echo asked to fail")
	}
	return &testv1.EchoResponse{Message: req.GetMessage()}, nil
}

func (s *orderServer) Ping(context.Context, *testv1.PingRequest) (*testv1.PingResponse, error) {
	s.count("Ping")
	return &testv1.PingResponse{}, nil
}

func (s *orderServer) WatchOrders(req *testv1.WatchOrdersRequest, stream grpc.ServerStreamingServer[testv1.OrderEvent]) error {
	s.count("WatchOrders")
	if _, ok := stream.Context().Deadline(); !ok {
		return status.Error(codes.FailedPrecondition, "stream has no deadline: the policy timeout was not applied")
	}
	for i := range req.GetCount() {
		if err := stream.Send(&testv1.OrderEvent{OrderId: req.GetClientId(), Sequence: int64(i)}); err != nil {
			return err
		}
	}
	if req.GetCount() < 0 {
		panic("negative count")
	}
	return nil
}

func (s *orderServer) SyncOrders(stream grpc.BidiStreamingServer[testv1.OrderEvent, testv1.OrderEvent]) error {
	s.count("SyncOrders")
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(ev); err != nil {
			return err
		}
	}
}

type inventoryServer struct {
	testv1.UnimplementedInventoryServiceServer
}

func (inventoryServer) GetStock(_ context.Context, req *testv1.GetStockRequest) (*testv1.Stock, error) {
	return &testv1.Stock{Sku: req.GetSku(), Quantity: 3}, nil
}

// testEnv is a governed gRPC server on 127.0.0.1 with clients of it.
type testEnv struct {
	gov       *governance.Governor
	orders    *orderServer
	client    testv1.OrderServiceClient
	inventory testv1.InventoryServiceClient
	logs      *syncBuffer
	addr      string
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// dial connects to the test server at addr with the governor's dial
// options (or any others), closed at cleanup.
func dial(t *testing.T, addr string, opts []grpc.DialOption, err error) *grpc.ClientConn {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func startServer(t *testing.T, gov *governance.Governor) *testEnv {
	t.Helper()
	env := &testEnv{gov: gov, orders: &orderServer{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env.addr = lis.Addr().String()
	srv := grpc.NewServer(gov.ServerOptions()...)
	testv1.RegisterOrderServiceServer(srv, env.orders)
	testv1.RegisterInventoryServiceServer(srv, inventoryServer{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		<-served
	})
	env.client = testv1.NewOrderServiceClient(conn)
	env.inventory = testv1.NewInventoryServiceClient(conn)
	return env
}

func unaryInfo(fullMethod string) *grpc.UnaryServerInfo {
	return &grpc.UnaryServerInfo{FullMethod: fullMethod}
}
