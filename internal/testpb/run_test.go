package testpb_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/gateway"
	"github.com/govkit/govern/runtime/governance"
)

// orderServer is a minimal OrderService that counts the calls reaching it.
type orderServer struct {
	testv1.UnimplementedOrderServiceServer
	creates atomic.Int32
	gets    sync.Map // id -> *atomic.Int32
}

func (s *orderServer) CreateOrder(_ context.Context, req *testv1.CreateOrderRequest) (*testv1.Order, error) {
	n := s.creates.Add(1)
	return &testv1.Order{Id: "order-" + req.GetOrder().GetSn(), Sn: req.GetOrder().GetSn(), AmountCents: int64(n)}, nil
}

func (s *orderServer) GetOrder(_ context.Context, req *testv1.GetOrderRequest) (*testv1.Order, error) {
	v, _ := s.gets.LoadOrStore(req.GetId(), new(atomic.Int32))
	if v.(*atomic.Int32).Add(1) == 1 && req.GetId() == "flaky" {
		return nil, status.Error(codes.Unavailable, "first call fails")
	}
	return &testv1.Order{Id: req.GetId()}, nil
}

func (s *orderServer) ReserveStock(context.Context, *testv1.ReserveStockRequest) (*testv1.ReserveStockResponse, error) {
	return &testv1.ReserveStockResponse{ReservationId: "r"}, nil
}

func (s *orderServer) SlowReport(ctx context.Context, req *testv1.SlowReportRequest) (*testv1.SlowReportResponse, error) {
	select {
	case <-time.After(time.Duration(req.GetDelayMs()) * time.Millisecond):
		return &testv1.SlowReportResponse{Body: "done"}, nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func (s *orderServer) Ping(context.Context, *testv1.PingRequest) (*testv1.PingResponse, error) {
	return &testv1.PingResponse{}, nil
}

// startServer serves OrderService on 127.0.0.1 with the generated
// interceptors, exactly as a user's main would.
func startServer(t *testing.T) (*orderServer, string) {
	t.Helper()
	unary, stream, err := testv1.OrderServiceInterceptors(
		governance.WithService("testpb", "test", "local"),
		governance.WithRegisterer(prometheus.NewRegistry()),
		governance.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(stream))
	impl := &orderServer{}
	testv1.RegisterOrderServiceServer(srv, impl)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return impl, lis.Addr().String()
}

func dial(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestGeneratedWiringGovernsARealServer runs the generated table,
// interceptors, service config and gateway registration against a real
// gRPC server and checks that what the proto declares is what happens.
func TestGeneratedWiringGovernsARealServer(t *testing.T) {
	impl, addr := startServer(t)
	conn := dial(t, addr, grpc.WithDefaultServiceConfig(testv1.OrderServiceServiceConfig))
	client := testv1.NewOrderServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("key derived from key_fields deduplicates", func(t *testing.T) {
		req := &testv1.CreateOrderRequest{ClientId: "c-1", Order: &testv1.Order{Sn: "sn-1"}}
		first, err := client.CreateOrder(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		second, err := client.CreateOrder(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if n := impl.creates.Load(); n != 1 {
			t.Errorf("handler ran %d times for one key, want 1", n)
		}
		if first.GetAmountCents() != second.GetAmountCents() {
			t.Errorf("replayed response differs: %v vs %v", first, second)
		}
	})

	t.Run("required key missing", func(t *testing.T) {
		_, err := client.CreateOrder(ctx, &testv1.CreateOrderRequest{ClientId: "c-1"})
		if status.Code(err) != codes.InvalidArgument || !errinfo.Is(err, errinfo.IdempotencyKeyMissing) {
			t.Errorf("err = %v, want INVALID_ARGUMENT %s", err, errinfo.IdempotencyKeyMissing)
		}
		md := metadata.Pairs("idempotency-key", "explicit-key-1")
		if _, err := client.CreateOrder(metadata.NewOutgoingContext(ctx, md), &testv1.CreateOrderRequest{ClientId: "c-1"}); err != nil {
			t.Errorf("with an idempotency-key header: %v", err)
		}
	})

	t.Run("rate limit 5 per second, burst 5", func(t *testing.T) {
		// Concurrent calls, so a slow machine cannot refill the bucket
		// between them: the burst of 5 passes, the rest is rejected.
		const calls = 20
		errs := make(chan error, calls)
		var wg sync.WaitGroup
		for range calls {
			wg.Go(func() {
				_, err := client.ReserveStock(ctx, &testv1.ReserveStockRequest{Sku: "s"})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		ok, limited := 0, 0
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case status.Code(err) == codes.ResourceExhausted && errinfo.Is(err, errinfo.RateLimited):
				limited++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok < 5 || limited == 0 {
			t.Errorf("%d admitted, %d rate limited; want at least the burst of 5 admitted and the rest RESOURCE_EXHAUSTED %s", ok, limited, errinfo.RateLimited)
		}
	})

	t.Run("timeout 200ms", func(t *testing.T) {
		_, err := client.SlowReport(ctx, &testv1.SlowReportRequest{Name: "r", DelayMs: 5000})
		if status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("err = %v, want DEADLINE_EXCEEDED", err)
		}
	})

	t.Run("service config retries a read natively", func(t *testing.T) {
		got, err := client.GetOrder(ctx, &testv1.GetOrderRequest{Id: "flaky"})
		if err != nil || got.GetId() != "flaky" {
			t.Fatalf("GetOrder = %v, %v; want a retried success", got, err)
		}
		// Without the generated service config the same failure surfaces.
		plain := testv1.NewOrderServiceClient(dial(t, addr, grpc.WithDisableRetry()))
		impl.gets.Delete("flaky")
		if _, err := plain.GetOrder(ctx, &testv1.GetOrderRequest{Id: "flaky"}); status.Code(err) != codes.Unavailable {
			t.Errorf("without retry: %v, want UNAVAILABLE", err)
		}
	})

	t.Run("disabled method passes through", func(t *testing.T) {
		if _, err := client.Ping(ctx, &testv1.PingRequest{}); err != nil {
			t.Error(err)
		}
	})

	t.Run("gateway routes", func(t *testing.T) {
		mux := gateway.NewServeMux()
		if err := testv1.RegisterOrderServiceGateway(ctx, mux, conn); err != nil {
			t.Fatal(err)
		}
		web := httptest.NewServer(mux)
		defer web.Close()
		res, err := http.Get(web.URL + "/v1/orders/abc")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var order struct{ ID string }
		if err := json.NewDecoder(res.Body).Decode(&order); err != nil || res.StatusCode != http.StatusOK || order.ID != "abc" {
			t.Errorf("GET /v1/orders/abc = %d %+v (%v)", res.StatusCode, order, err)
		}

		post, err := http.NewRequest(http.MethodPost, web.URL+"/v1/orders", strings.NewReader(`{"clientId":"web","order":{}}`))
		if err != nil {
			t.Fatal(err)
		}
		res2, err := http.DefaultClient.Do(post)
		if err != nil {
			t.Fatal(err)
		}
		res2.Body.Close()
		if res2.StatusCode != http.StatusBadRequest {
			t.Errorf("POST /v1/orders without a key = %d, want 400", res2.StatusCode)
		}
	})
}
