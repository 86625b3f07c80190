package orders

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	orderv1 "github.com/govkit/govern/examples/order/gen/order/v1"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func validRequest() *orderv1.CreateOrderRequest {
	return &orderv1.CreateOrderRequest{ClientId: "shop-1", OrderSn: "SN-1", Sku: "BOOK-42", Quantity: 2, AmountMinor: 3998, Currency: "EUR"}
}

func TestCreateOrderValidation(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*orderv1.CreateOrderRequest)
		wantMsg string
	}{
		{name: "valid", mutate: func(*orderv1.CreateOrderRequest) {}},
		{name: "no client", mutate: func(r *orderv1.CreateOrderRequest) { r.ClientId = "" }, wantMsg: "client_id is required"},
		{name: "no number", mutate: func(r *orderv1.CreateOrderRequest) { r.OrderSn = "" }, wantMsg: "order_sn is required"},
		{name: "no sku", mutate: func(r *orderv1.CreateOrderRequest) { r.Sku = "" }, wantMsg: "sku is required"},
		{name: "zero quantity", mutate: func(r *orderv1.CreateOrderRequest) { r.Quantity = 0 }, wantMsg: "quantity must be positive"},
		{name: "negative amount", mutate: func(r *orderv1.CreateOrderRequest) { r.AmountMinor = -1 }, wantMsg: "amount_minor"},
		{name: "lower-case currency", mutate: func(r *orderv1.CreateOrderRequest) { r.Currency = "eur" }, wantMsg: "ISO 4217"},
		{name: "every problem", mutate: func(r *orderv1.CreateOrderRequest) { *r = orderv1.CreateOrderRequest{} }, wantMsg: "client_id is required\norder_sn is required\nsku is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := NewService(NewStore())
			req := validRequest()
			tt.mutate(req)
			o, err := svc.CreateOrder(context.Background(), req)
			if tt.wantMsg == "" {
				if err != nil || !strings.HasPrefix(o.GetId(), "ord_") {
					t.Fatalf("CreateOrder = %v, %v", o, err)
				}
				return
			}
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("CreateOrder error = %v, want INVALID_ARGUMENT containing %q", err, tt.wantMsg)
			}
		})
	}
}

func TestCreateGetList(t *testing.T) {
	at := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	store := NewStore()
	svc := NewService(store, WithClock(func() time.Time { return at }))
	ctx := context.Background()

	first, err := svc.CreateOrder(ctx, validRequest())
	if err != nil {
		t.Fatal(err)
	}
	if !first.GetCreateTime().AsTime().Equal(at) {
		t.Fatalf("create_time = %v", first.GetCreateTime().AsTime())
	}
	// The domain rule behind idempotency: one order per client order number.
	if _, err := svc.CreateOrder(ctx, validRequest()); status.Code(err) != codes.AlreadyExists || !strings.Contains(err.Error(), first.GetId()) {
		t.Fatalf("duplicate number = %v, want ALREADY_EXISTS naming %s", err, first.GetId())
	}
	other := validRequest()
	other.ClientId, other.OrderSn = "shop-2", "SN-9"
	second, err := svc.CreateOrder(ctx, other)
	if err != nil {
		t.Fatal(err)
	}

	got, err := svc.GetOrder(ctx, &orderv1.GetOrderRequest{Id: first.GetId()})
	if err != nil || got.GetOrderSn() != "SN-1" {
		t.Fatalf("GetOrder = %v, %v", got, err)
	}
	got.Sku = "mutated"
	if again, _ := svc.GetOrder(ctx, &orderv1.GetOrderRequest{Id: first.GetId()}); again.GetSku() != "BOOK-42" {
		t.Fatal("GetOrder returned the stored message, not a copy")
	}
	if _, err := svc.GetOrder(ctx, &orderv1.GetOrderRequest{Id: "ord_nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetOrder(unknown) = %v, want NOT_FOUND", err)
	}
	if _, err := svc.GetOrder(ctx, &orderv1.GetOrderRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("GetOrder(empty) = %v, want INVALID_ARGUMENT", err)
	}

	tests := []struct {
		name    string
		req     *orderv1.ListOrdersRequest
		wantIDs []string
		wantErr codes.Code
	}{
		{name: "all newest first", req: &orderv1.ListOrdersRequest{}, wantIDs: []string{second.GetId(), first.GetId()}},
		{name: "one client", req: &orderv1.ListOrdersRequest{ClientId: "shop-1"}, wantIDs: []string{first.GetId()}},
		{name: "page size", req: &orderv1.ListOrdersRequest{PageSize: 1}, wantIDs: []string{second.GetId()}},
		{name: "huge page capped", req: &orderv1.ListOrdersRequest{PageSize: 100000}, wantIDs: []string{second.GetId(), first.GetId()}},
		{name: "negative page", req: &orderv1.ListOrdersRequest{PageSize: -1}, wantErr: codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := svc.ListOrders(ctx, tt.req)
			if status.Code(err) != tt.wantErr {
				t.Fatalf("ListOrders error = %v, want %v", err, tt.wantErr)
			}
			var ids []string
			for _, o := range resp.GetOrders() {
				ids = append(ids, o.GetId())
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Fatalf("ids = %v, want %v", ids, tt.wantIDs)
			}
		})
	}
	if store.Len() != 2 {
		t.Fatalf("Len = %d", store.Len())
	}
}

func TestProcessingTimeHonoursDeadline(t *testing.T) {
	store := NewStore()
	svc := NewService(store, WithProcessingTime(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := svc.CreateOrder(ctx, validRequest())
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("CreateOrder past its deadline = %v, want DEADLINE_EXCEEDED", err)
	}
	if store.Len() != 0 {
		t.Fatal("an order was stored after the deadline")
	}
}

func TestPing(t *testing.T) {
	store := NewStore()
	if err := store.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock() // a wedged writer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := store.Ping(ctx)
	store.mu.Unlock()
	if err == nil || !strings.Contains(err.Error(), "lock not acquired") {
		t.Fatalf("Ping with a wedged store = %v", err)
	}
}
