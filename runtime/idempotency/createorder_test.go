package idempotency_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/idempotency/redisstore"
)

// orderService implements the generated govern.test.v1.OrderService: every
// CreateOrder that runs creates a new order.
type orderService struct {
	testv1.UnimplementedOrderServiceServer
	created   atomic.Int64
	cancelled atomic.Int64
	delay     time.Duration
}

func (s *orderService) CreateOrder(ctx context.Context, req *testv1.CreateOrderRequest) (*testv1.Order, error) {
	n := s.created.Add(1)
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return &testv1.Order{Id: fmt.Sprintf("ord-%d-%d", n, time.Now().UnixNano()), Sn: req.GetOrder().GetSn(), AmountCents: req.GetOrder().GetAmountCents(), Status: "CREATED"}, nil
}

func (s *orderService) CancelOrder(_ context.Context, req *testv1.CancelOrderRequest) (*testv1.Order, error) {
	s.cancelled.Add(1)
	return &testv1.Order{Id: req.GetId(), Status: "CANCELLED"}, nil
}

// orderReplicas serves svc on one gRPC server per store and returns, per
// replica, a governed client (service config + idempotency client
// interceptor) and a raw one.
func orderReplicas(t *testing.T, svc *orderService, stores []idempotency.Store) (governed, raw []testv1.OrderServiceClient) {
	t.Helper()
	for _, store := range stores {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		idem := idempotency.NewServer(testv1.OrderServicePolicy, store)
		srv := grpc.NewServer(grpc.ChainUnaryInterceptor(idem.UnaryServerInterceptor()))
		testv1.RegisterOrderServiceServer(srv, svc)
		served := make(chan struct{})
		go func() {
			defer close(served)
			_ = srv.Serve(lis)
		}()
		g, err := grpc.NewClient(lis.Addr().String(),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultServiceConfig(testv1.OrderServiceServiceConfig),
			grpc.WithUnaryInterceptor(idempotency.UnaryClientInterceptor(testv1.OrderServicePolicy)))
		if err != nil {
			t.Fatal(err)
		}
		r, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = g.Close()
			_ = r.Close()
			srv.Stop()
			<-served
		})
		governed = append(governed, testv1.NewOrderServiceClient(g))
		raw = append(raw, testv1.NewOrderServiceClient(r))
	}
	return governed, raw
}

func TestCreateOrderGeneratedService(t *testing.T) {
	setups := []struct {
		name   string
		stores func(t *testing.T) []idempotency.Store
	}{
		{"memory, one replica", func(*testing.T) []idempotency.Store {
			return []idempotency.Store{idempotency.NewMemoryStore()}
		}},
		{"redis, three replicas", func(t *testing.T) []idempotency.Store {
			first := requireRedis(t)
			prefix := testPrefix(t, first)
			stores := []idempotency.Store{newRedisStore(t, first, redisstore.WithKeyPrefix(prefix))}
			for len(stores) < 3 {
				stores = append(stores, newRedisStore(t, requireRedis(t), redisstore.WithKeyPrefix(prefix)))
			}
			return stores
		}},
	}
	for _, setup := range setups {
		t.Run(setup.name, func(t *testing.T) {
			svc := &orderService{delay: 150 * time.Millisecond}
			clients, raw := orderReplicas(t, svc, setup.stores(t))
			req := &testv1.CreateOrderRequest{ClientId: "client-7", Order: &testv1.Order{Sn: "sn-2026-0001", AmountCents: 4999}}

			// A user double-clicks 50 times across the replicas.
			const clicks = 50
			orders := make([]*testv1.Order, clicks)
			errs := make([]error, clicks)
			var wg sync.WaitGroup
			for i := range clicks {
				wg.Go(func() { orders[i], errs[i] = clients[i%len(clients)].CreateOrder(context.Background(), req) })
			}
			wg.Wait()
			if n := svc.created.Load(); n != 1 {
				t.Fatalf("%d orders created, want 1", n)
			}
			var original *testv1.Order
			for i, err := range errs {
				if err != nil {
					if status.Code(err) != codes.Aborted || !errinfo.Is(err, errinfo.IdempotencyInFlight) {
						t.Fatalf("click %d: %v, want the order or IDEMPOTENCY_IN_FLIGHT", i, err)
					}
					continue
				}
				if original == nil {
					original = orders[i]
				} else if !proto.Equal(orders[i], original) {
					t.Errorf("click %d got %v, want %v", i, orders[i], original)
				}
			}
			if original == nil {
				t.Fatal("no click got the order")
			}
			for i := range 2 * len(clients) {
				got, err := clients[i%len(clients)].CreateOrder(context.Background(), req)
				if err != nil || !proto.Equal(got, original) {
					t.Fatalf("repeat %d: %v %v, want %v", i, got, err, original)
				}
			}

			// The same client_id + sn with another amount reuses the key.
			other := proto.CloneOf(req)
			other.Order.AmountCents = 1
			_, err := clients[0].CreateOrder(context.Background(), other)
			if status.Code(err) != codes.FailedPrecondition || !errinfo.Is(err, errinfo.IdempotencyKeyReused) {
				t.Errorf("changed amount: %v, want IDEMPOTENCY_KEY_REUSED", err)
			}
			if n := svc.created.Load(); n != 1 {
				t.Fatalf("%d orders created, want 1", n)
			}

			// Without key fields or a header: a raw client is refused, the
			// governed client attaches a key per call.
			noSN := &testv1.CreateOrderRequest{ClientId: "client-7", Order: &testv1.Order{AmountCents: 1}}
			if _, err := raw[0].CreateOrder(context.Background(), noSN); !errinfo.Is(err, errinfo.IdempotencyKeyMissing) {
				t.Errorf("raw call without key: %v, want IDEMPOTENCY_KEY_MISSING", err)
			}
			if _, err := raw[0].CancelOrder(context.Background(), &testv1.CancelOrderRequest{Id: "ord-1"}); !errinfo.Is(err, errinfo.IdempotencyKeyMissing) {
				t.Errorf("raw cancel without key: %v, want IDEMPOTENCY_KEY_MISSING", err)
			}
			if _, err := clients[0].CancelOrder(context.Background(), &testv1.CancelOrderRequest{Id: "ord-1"}); err != nil {
				t.Errorf("governed cancel: %v", err)
			}
			// A header key wins over key fields.
			ctx := metadata.AppendToOutgoingContext(context.Background(), idempotency.MetadataKey, `"checkout-5f1c"`)
			if _, err := raw[0].CreateOrder(ctx, req); err != nil {
				t.Fatal(err)
			}
			if n := svc.created.Load(); n != 2 {
				t.Errorf("%d orders created, want 2 (the header key is a new key)", n)
			}
			if n := svc.cancelled.Load(); n != 1 {
				t.Errorf("%d cancels ran, want 1", n)
			}
		})
	}
}
