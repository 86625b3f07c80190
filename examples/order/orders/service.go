package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	orderv1 "github.com/govkit/govern/examples/order/gen/order/v1"
)

// List page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Option configures a Service.
type Option func(*Service)

// WithProcessingTime makes CreateOrder take d before it commits, standing in
// for the payment authorisation a real order service waits for. It is what
// makes a client's timeout-and-retry (the incident) and the in-flight
// duplicate answer (409) observable in the example.
func WithProcessingTime(d time.Duration) Option {
	return func(s *Service) { s.processing = max(d, 0) }
}

// WithClock replaces time.Now for create_time.
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = now }
}

// Service implements orderv1.OrderServiceServer over a Store.
type Service struct {
	orderv1.UnimplementedOrderServiceServer
	store      *Store
	processing time.Duration
	now        func() time.Time
}

// NewService returns the order service over store.
func NewService(store *Store, opts ...Option) *Service {
	s := &Service{store: store, now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// CreateOrder validates and stores an order.
func (s *Service) CreateOrder(ctx context.Context, req *orderv1.CreateOrderRequest) (*orderv1.Order, error) {
	if err := validateCreate(req); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if s.processing > 0 {
		timer := time.NewTimer(s.processing)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "orders: generating an order id: %v", err)
	}
	o := &orderv1.Order{
		Id:          "ord_" + id.String(),
		ClientId:    req.GetClientId(),
		OrderSn:     req.GetOrderSn(),
		Sku:         req.GetSku(),
		Quantity:    req.GetQuantity(),
		AmountMinor: req.GetAmountMinor(),
		Currency:    req.GetCurrency(),
		CreateTime:  timestamppb.New(s.now()),
	}
	if err := s.store.Insert(o); err != nil {
		var dup ErrDuplicateNumber
		if errors.As(err, &dup) {
			return nil, status.Errorf(codes.AlreadyExists, "order number %q of client %q is already order %s", req.GetOrderSn(), req.GetClientId(), dup.ExistingID)
		}
		return nil, status.Error(codes.Internal, err.Error())
	}
	return o, nil
}

// GetOrder returns one order.
func (s *Service) GetOrder(_ context.Context, req *orderv1.GetOrderRequest) (*orderv1.Order, error) {
	if req.GetId() == "" {
		return nil, status.Error(codes.InvalidArgument, "id is required")
	}
	o, ok := s.store.Get(req.GetId())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "order %q not found", req.GetId())
	}
	return o, nil
}

// ListOrders returns the newest orders, optionally of one client.
func (s *Service) ListOrders(_ context.Context, req *orderv1.ListOrdersRequest) (*orderv1.ListOrdersResponse, error) {
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, status.Error(codes.InvalidArgument, "page_size must not be negative")
	case size == 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	return &orderv1.ListOrdersResponse{Orders: s.store.List(req.GetClientId(), size)}, nil
}

func validateCreate(req *orderv1.CreateOrderRequest) error {
	var problems []error
	if req.GetClientId() == "" {
		problems = append(problems, errors.New("client_id is required"))
	}
	if req.GetOrderSn() == "" {
		problems = append(problems, errors.New("order_sn is required"))
	}
	if req.GetSku() == "" {
		problems = append(problems, errors.New("sku is required"))
	}
	if req.GetQuantity() <= 0 {
		problems = append(problems, fmt.Errorf("quantity must be positive, got %d", req.GetQuantity()))
	}
	if req.GetAmountMinor() < 0 {
		problems = append(problems, fmt.Errorf("amount_minor must not be negative, got %d", req.GetAmountMinor()))
	}
	if c := req.GetCurrency(); len(c) != 3 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' || c[2] < 'A' || c[2] > 'Z' {
		problems = append(problems, fmt.Errorf("currency must be an ISO 4217 code such as EUR, got %q", c))
	}
	return errors.Join(problems...)
}
