package orders

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"google.golang.org/protobuf/proto"

	orderv1 "github.com/govkit/govern/examples/order/gen/order/v1"
)

// Store is an in-memory order book, safe for concurrent use.
type Store struct {
	mu       sync.RWMutex
	byID     map[string]*orderv1.Order
	ids      []string          // insertion order
	byNumber map[string]string // client_id + order_sn -> id
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{byID: make(map[string]*orderv1.Order), byNumber: make(map[string]string)}
}

// ErrDuplicateNumber is returned by Insert when the client already placed an
// order with the same order number.
type ErrDuplicateNumber struct{ ExistingID string }

func (e ErrDuplicateNumber) Error() string {
	return fmt.Sprintf("orders: order number already used by order %s", e.ExistingID)
}

// Insert stores a copy of o, unless its client already used its order number.
func (s *Store) Insert(o *orderv1.Order) error {
	number := numberKey(o.GetClientId(), o.GetOrderSn())
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, dup := s.byNumber[number]; dup {
		return ErrDuplicateNumber{ExistingID: id}
	}
	s.byID[o.GetId()] = proto.Clone(o).(*orderv1.Order)
	s.ids = append(s.ids, o.GetId())
	s.byNumber[number] = o.GetId()
	return nil
}

// Get returns a copy of the order with id.
func (s *Store) Get(id string) (*orderv1.Order, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	return proto.Clone(o).(*orderv1.Order), true
}

// List returns up to limit orders, newest first, of clientID (all when "").
func (s *Store) List(clientID string, limit int) []*orderv1.Order {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*orderv1.Order, 0, min(limit, len(s.ids)))
	for _, id := range slices.Backward(s.ids) {
		if len(out) == limit {
			break
		}
		o := s.byID[id]
		if clientID != "" && o.GetClientId() != clientID {
			continue
		}
		out = append(out, proto.Clone(o).(*orderv1.Order))
	}
	return out
}

// Len returns the number of orders.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.ids)
}

// Ping is the store's readiness check: it takes the read lock the request
// path takes, so a store wedged behind a stuck writer reports not ready
// (and /healthz's db_ping_ms shows how long the lock took).
func (s *Store) Ping(ctx context.Context) error {
	acquired := make(chan struct{})
	go func() {
		s.mu.RLock()
		close(acquired)
		s.mu.RUnlock()
	}()
	select {
	case <-acquired:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("orders: store lock not acquired: %w", ctx.Err())
	}
}

// numberKey joins the parts length-prefixed so ("a:b","c") and ("a","b:c")
// differ.
func numberKey(clientID, orderSN string) string {
	return fmt.Sprintf("%d:%s%s", len(clientID), clientID, orderSN)
}
