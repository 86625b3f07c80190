package testpb_test

import (
	"context"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/serviceconfig"
)

// TestTableIsWhatTheProtoSays pins the generated policy table to the
// options written in testv1/test.proto, so other packages can rely on them.
func TestTableIsWhatTheProtoSays(t *testing.T) {
	tbl := testv1.OrderServicePolicy
	get := func(name string) *policy.Method {
		t.Helper()
		m := tbl.Lookup("/govern.test.v1.OrderService/" + name)
		if m == nil {
			t.Fatalf("OrderServicePolicy has no %s", name)
		}
		return m
	}

	create := get("CreateOrder")
	if create.Tier != policy.TierGold || create.Timeout != time.Second || create.Sampling != 1 {
		t.Errorf("CreateOrder tier/timeout/sampling = %v/%v/%v", create.Tier, create.Timeout, create.Sampling)
	}
	if id := create.Idempotency; id == nil || !id.Required || id.TTL != 24*time.Hour || id.Lease != 10*time.Second || len(id.KeyFields) != 2 {
		t.Errorf("CreateOrder idempotency = %+v", create.Idempotency)
	}
	if r := create.Retry; r == nil || r.MaxAttempts != 3 || r.InitialBackoff != 10*time.Millisecond || r.Adaptive || len(r.Codes) != 1 || r.Codes[0] != codes.Unavailable {
		t.Errorf("CreateOrder retry = %+v", create.Retry)
	}
	key, ok := create.Idempotency.Key(&testv1.CreateOrderRequest{ClientId: "c-1", Order: &testv1.Order{Sn: "sn-9"}})
	if !ok || key != policy.JoinKey("c-1", "sn-9") {
		t.Errorf("CreateOrder key = %q, %v", key, ok)
	}
	if _, ok := create.Idempotency.Key(&testv1.CreateOrderRequest{ClientId: "c-1"}); ok {
		t.Error("a partial key (no order.sn) must not be usable")
	}
	if _, ok := create.Idempotency.Key(&testv1.GetOrderRequest{Id: "x"}); ok {
		t.Error("a request of another type must not produce a key")
	}

	if m := get("GetOrder"); m.IdempotencyLevel != policy.NoSideEffects || m.Retry == nil || !m.RetrySafe() || m.Tier != policy.TierSilver || m.Timeout != 2*time.Second {
		t.Errorf("GetOrder = %+v", m)
	}
	if m := get("ListOrders"); m.Tier != policy.TierBronze || m.Sampling != 0.01 || m.Retry != nil {
		t.Errorf("ListOrders = %+v", m)
	}
	if m := get("CancelOrder"); m.Idempotency == nil || !m.Idempotency.Required || m.Idempotency.Key != nil {
		t.Errorf("CancelOrder idempotency = %+v", m.Idempotency)
	}
	if m := get("ReserveStock"); m.RateLimit == nil || m.RateLimit.RPS != 5 || m.RateLimit.Burst != 5 || m.RateLimit.Scope != policy.ScopeLocal {
		t.Errorf("ReserveStock rate limit = %+v", m.RateLimit)
	}
	if cb := get("ChargePayment").CircuitBreaker; cb == nil || cb.MinRequests != 4 || cb.OpenFor != 200*time.Millisecond || cb.FailureRatio != 0.5 || cb.HalfOpenRequests != 1 || cb.Window != 10*time.Second {
		t.Errorf("ChargePayment breaker = %+v", cb)
	}
	if m := get("SlowReport"); m.Timeout != 200*time.Millisecond {
		t.Errorf("SlowReport timeout = %v", m.Timeout)
	}
	if r := get("RefreshCache").Retry; r == nil || !r.Adaptive || r.MaxAttempts != 4 || len(r.Codes) != 2 {
		t.Errorf("RefreshCache retry = %+v", r)
	}
	if m := get("WatchOrders"); !m.ServerStreaming || m.ClientStreaming {
		t.Errorf("WatchOrders streaming = %v/%v", m.ClientStreaming, m.ServerStreaming)
	}
	if m := get("SyncOrders"); !m.ServerStreaming || !m.ClientStreaming || m.RateLimit == nil {
		t.Errorf("SyncOrders = %+v", m)
	}
	if m := get("Ping"); !m.Disabled {
		t.Error("Ping must be disabled")
	}
	if rl := testv1.InventoryServicePolicy.Lookup("/govern.test.v1.InventoryService/GetStock").RateLimit; rl == nil || rl.Scope != policy.ScopeDistributed {
		t.Errorf("GetStock rate limit = %+v", rl)
	}
}

// TestOpenAPIDocument validates the committed testv1 OpenAPI document with
// kin-openapi and checks that x-govern carries the table's policy.
func TestOpenAPIDocument(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile("testv1/test.openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	op := doc.Paths.Find("/v1/stock:reserve").Post
	x, _ := op.Extensions["x-govern"].(map[string]any)
	rl, _ := x["rate_limit"].(map[string]any)
	if rl["rps"] != 5.0 || rl["burst"] != 5.0 {
		t.Errorf("ReserveStock x-govern rate_limit = %v", rl)
	}
	if op.Responses.Status(429) == nil {
		t.Error("ReserveStock documents no 429")
	}
	cancel := doc.Paths.Find("/v1/orders/{id}").Delete
	if h := cancel.Parameters.GetByInAndName("header", "Idempotency-Key"); h == nil || !h.Required {
		t.Errorf("CancelOrder Idempotency-Key = %+v, want required", h)
	}
}

// TestServiceConfigMatchesRuntime: the constant generated at build time and
// the config the client runtime builds from the same table at dial time are
// one and the same.
func TestServiceConfigMatchesRuntime(t *testing.T) {
	for want, table := range map[string]policy.Table{
		testv1.OrderServiceServiceConfig:     testv1.OrderServicePolicy,
		testv1.InventoryServiceServiceConfig: testv1.InventoryServicePolicy,
	} {
		got, err := serviceconfig.Build(table)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("serviceconfig.Build(table) =\n%s\ngenerated constant =\n%s", got, want)
		}
	}
}
