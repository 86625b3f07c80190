package testpb_test

import (
	"testing"

	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/policy"
)

// FuzzCreateOrderKey checks the generated key extractor: a key exists only
// when every key field is set, the table's KeyFunc agrees with the typed
// function, and distinct field values never share a key.
func FuzzCreateOrderKey(f *testing.F) {
	f.Add("c-1", "sn-1", "c-1", "sn-2")
	f.Add("a|b", "c", "a", "b|c")
	f.Add("", "sn", "c", "")
	f.Add("1:a", "", "1", ":a")
	keyFunc := testv1.OrderServicePolicy.Lookup("/govern.test.v1.OrderService/CreateOrder").Idempotency.Key
	f.Fuzz(func(t *testing.T, client1, sn1, client2, sn2 string) {
		req1 := &testv1.CreateOrderRequest{ClientId: client1, Order: &testv1.Order{Sn: sn1}}
		key1, ok1 := testv1.OrderService_CreateOrderIdempotencyKey(req1)
		if ok1 != (client1 != "" && sn1 != "") {
			t.Fatalf("ok = %v for client_id %q, order.sn %q", ok1, client1, sn1)
		}
		if ok1 && key1 != policy.JoinKey(client1, sn1) {
			t.Fatalf("key %q, want JoinKey(%q, %q)", key1, client1, sn1)
		}
		if k, ok := keyFunc(req1); k != key1 || ok != ok1 {
			t.Fatalf("table KeyFunc = %q, %v; typed extractor = %q, %v", k, ok, key1, ok1)
		}
		key2, ok2 := testv1.OrderService_CreateOrderIdempotencyKey(&testv1.CreateOrderRequest{ClientId: client2, Order: &testv1.Order{Sn: sn2}})
		if ok1 && ok2 && (client1 != client2 || sn1 != sn2) && key1 == key2 {
			t.Fatalf("(%q, %q) and (%q, %q) share key %q", client1, sn1, client2, sn2, key1)
		}
	})
}
