package client_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/client"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/policy"
)

// orderServer fails the first failFirst attempts of each method it
// implements and records the idempotency key each attempt carried.
type orderServer struct {
	testv1.UnimplementedOrderServiceServer
	failFirst int

	mu       sync.Mutex
	attempts map[string]int
	keys     map[string][]string
}

func (s *orderServer) attempt(ctx context.Context, method string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts[method]++
	s.keys[method] = append(s.keys[method], md.Get(idempotency.MetadataKey)...)
	if s.failFirst < 0 || s.attempts[method] <= s.failFirst {
		return status.Error(codes.Unavailable, "scripted failure")
	}
	return nil
}

// seen returns the attempts of method and a copy of the keys they carried.
func (s *orderServer) seen(method string) (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[method], slices.Clone(s.keys[method])
}

func (s *orderServer) CreateOrder(ctx context.Context, in *testv1.CreateOrderRequest) (*testv1.Order, error) {
	if err := s.attempt(ctx, "CreateOrder"); err != nil {
		return nil, err
	}
	return &testv1.Order{Id: "o-1", Sn: in.GetOrder().GetSn()}, nil
}

func (s *orderServer) RefreshCache(ctx context.Context, _ *testv1.RefreshCacheRequest) (*testv1.RefreshCacheResponse, error) {
	if err := s.attempt(ctx, "RefreshCache"); err != nil {
		return nil, err
	}
	return &testv1.RefreshCacheResponse{Entries: 7}, nil
}

func serveOrders(t *testing.T, failFirst int) (*orderServer, testv1.OrderServiceClient) {
	t.Helper()
	impl := &orderServer{failFirst: failFirst, attempts: map[string]int{}, keys: map[string][]string{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	testv1.RegisterOrderServiceServer(srv, impl)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })

	opts, err := client.DialOptions(policy.Merge(testv1.OrderServicePolicy, testv1.InventoryServicePolicy))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(lis.Addr().String(), append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return impl, testv1.NewOrderServiceClient(cc)
}

// TestGeneratedPolicies drives the generated govern.test.v1 stubs through
// DialOptions built from the generated tables: CreateOrder (keyed, native
// retry, 3 attempts) and RefreshCache (IDEMPOTENT, adaptive, 4 attempts).
func TestGeneratedPolicies(t *testing.T) {
	t.Run("native retry carries one attached key", func(t *testing.T) {
		impl, orders := serveOrders(t, 2)
		// No client_id/order.sn: the key cannot be derived, so the client
		// attaches one.
		if _, err := orders.CreateOrder(t.Context(), &testv1.CreateOrderRequest{}); err != nil {
			t.Fatal(err)
		}
		_, keys := impl.seen("CreateOrder")
		if len(keys) != 3 || keys[0] == "" || len(slices.Compact(keys)) != 1 {
			t.Errorf("attempts carried keys %q; want 3 copies of one key", keys)
		}
	})
	t.Run("derived key is left to the server", func(t *testing.T) {
		impl, orders := serveOrders(t, 2)
		req := &testv1.CreateOrderRequest{ClientId: "c-9", Order: &testv1.Order{Sn: "sn-1"}}
		if _, err := orders.CreateOrder(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		if n, keys := impl.seen("CreateOrder"); n != 3 || len(keys) != 0 {
			t.Errorf("%d attempts carrying %q; want 3 attempts and no header key (the server derives it from the fields)", n, keys)
		}
	})
	t.Run("adaptive method is retried once per attempt, not twice", func(t *testing.T) {
		impl, orders := serveOrders(t, -1) // total outage
		_, err := orders.RefreshCache(t.Context(), &testv1.RefreshCacheRequest{})
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("err = %v", err)
		}
		// 4 attempts by the interceptor; had the service config also
		// retried it, the server would see up to 16.
		if n, _ := impl.seen("RefreshCache"); n != 4 {
			t.Errorf("attempts = %d, want 4", n)
		}
	})
}
