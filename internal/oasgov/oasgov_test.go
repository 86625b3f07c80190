package oasgov

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/govkit/govern/internal/golden"
	"github.com/govkit/govern/internal/govgen"
	"github.com/govkit/govern/runtime/httpgovern"
	"github.com/govkit/govern/runtime/policy"
)

func TestResolvesScopesLikeProto(t *testing.T) {
	api, err := Load("testdata/orders.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(api.Operations); got != 4 {
		t.Fatalf("%d operations, want 4", got)
	}
	create := api.Table["createOrder"]
	if create == nil {
		t.Fatal("createOrder missing from the table")
	}
	// Method beats path item beats file; tier defaults fill sampling.
	if create.Tier != policy.TierGold || create.Timeout != 800*time.Millisecond || create.Sampling != 1 {
		t.Errorf("createOrder tier/timeout/sampling = %v/%v/%v, want gold/800ms/1", create.Tier, create.Timeout, create.Sampling)
	}
	if create.RateLimit == nil || create.RateLimit.RPS != 100 {
		t.Errorf("createOrder rate limit = %+v, want 100 rps from the path item", create.RateLimit)
	}
	if create.Idempotency == nil || !create.Idempotency.Required || create.Idempotency.Lease != 10*time.Second {
		t.Errorf("createOrder idempotency = %+v", create.Idempotency)
	}
	if create.Retry == nil || create.Retry.MaxAttempts != 3 {
		t.Errorf("POST with an idempotency block may retry: %+v", create.Retry)
	}
	if create.IdempotencyLevel != policy.IdempotencyUnknown {
		t.Errorf("POST level = %v, want unknown", create.IdempotencyLevel)
	}
	list := api.Table["listOrders"]
	if list.Tier != policy.TierSilver || list.Timeout != 2*time.Second || list.IdempotencyLevel != policy.NoSideEffects || list.Retry == nil {
		t.Errorf("listOrders inherits file scope and GET is retry-safe: %+v", list)
	}
	put := api.Table["putOrder"]
	if put.FullMethod != "/order.v1.OrderService/PutOrder" || put.Service != "order.v1.OrderService" || put.Name != "putOrder" {
		t.Errorf("putOrder names = %q %q %q", put.FullMethod, put.Service, put.Name)
	}
	if put.IdempotencyLevel != policy.Idempotent || put.Retry == nil {
		t.Errorf("PUT is idempotent and may retry: %+v", put)
	}
	if !api.Table["deleteOrder"].Disabled {
		t.Error("deleteOrder is disabled")
	}
	var routes []string
	for _, r := range api.Routes() {
		routes = append(routes, r.HTTPMethod+" "+r.Pattern+" "+r.FullMethod)
	}
	want := "POST /orders createOrder,GET /orders listOrders,PUT /orders/{id} putOrder,DELETE /orders/{id} deleteOrder"
	if got := strings.Join(routes, ","); got != want {
		t.Errorf("routes = %s\nwant %s", got, want)
	}
}

func TestKeyFieldsDeriveKeys(t *testing.T) {
	api, err := Load("testdata/orders.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]*Operation{}
	for _, op := range api.Operations {
		ops[op.ID] = op
	}
	if got, want := ops["createOrder"].KeyFields, []httpgovern.KeyField{httpgovern.BodyField("client_id"), httpgovern.BodyField("order", "sn")}; !equalFields(got, want) {
		t.Errorf("createOrder key fields = %v, want %v", got, want)
	}
	if got, want := ops["putOrder"].KeyFields, []httpgovern.KeyField{httpgovern.PathParam("id")}; !equalFields(got, want) {
		t.Errorf("putOrder key fields = %v, want %v", got, want)
	}
	if api.Table["createOrder"].Idempotency.Key == nil {
		t.Fatal("createOrder has no key function")
	}
}

func equalFields(a, b []httpgovern.KeyField) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestEveryMistakeAtOnce checks that each twin of a proto-path problem is
// reported, all in one run, at the line and column where it is written.
func TestEveryMistakeAtOnce(t *testing.T) {
	_, err := Load("testdata/mistakes.yaml")
	var diags govgen.Diagnostics
	if !errors.As(err, &diags) {
		t.Fatalf("want diagnostics, got %v", err)
	}
	got := err.Error() + "\n"
	golden.Check(t, filepath.Join("testdata", "mistakes.golden"), []byte(got))
	for _, must := range []string{
		"mistakes.yaml:6:12: timeout \"5\" is not a duration",
		"mistakes.yaml:7:3: x-govern has no field \"tiers\"",
		"mistakes.yaml:14:16: retry on createOrder, which is not idempotent",
		"retry.max_attempts 6 exceeds gRPC's cap of 5",
		"idempotency.lease 1s of patchOrder is not longer than its timeout 2s",
		"idempotency.ttl \"3 days\" is not a duration",
		"\"amount\" of patchOrder: /amount is a floating-point number",
		"\"note\" of patchOrder: the request body does not list \"note\" as required",
		"\"items\" of patchOrder: /items is an array",
		"\"customer.name\" of patchOrder: /customer does not list \"name\" as required",
		"\"missing\" of patchOrder: the request body has no property \"missing\"",
		"tier \"PLATINUM\" is not a known value: use one of TIER_GOLD, TIER_SILVER, TIER_BRONZE",
		"sampling 1.5 is outside [0,1]",
		"rate_limit.rps 0 must be > 0",
		"rate_limit.burst \"many\" must be a whole number",
		"query parameter \"q\" is optional",
	} {
		if !strings.Contains(got, must) {
			t.Errorf("missing %q in:\n%s", must, got)
		}
	}
	if strings.Contains(got, "\"sn\" of patchOrder") {
		t.Errorf("sn is a required string and must resolve:\n%s", got)
	}
}

// TestJSONInput reads the same document as JSON: positions come from the
// same node tree.
func TestJSONInput(t *testing.T) {
	data, err := os.ReadFile("testdata/mistakes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("api.json", js)
	if err == nil || !strings.Contains(err.Error(), "api.json:") {
		t.Fatalf("want diagnostics against api.json, got %v", err)
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.Contains(line, "x-govern has no field \"tiers\"") {
			return
		}
	}
	t.Errorf("unknown field not reported in JSON input:\n%v", err)
}

func TestInvalidOpenAPIFirst(t *testing.T) {
	doc := `openapi: 3.0.3
info:
  title: bad
  version: "1"
paths:
  /orders/{id}:
    post:
      operationId: createOrder
      x-govern: {retry: {max_attempts: 9}}
      responses:
        "200": {description: OK}
`
	_, err := Parse("api.yaml", []byte(doc))
	if err == nil {
		t.Fatal("invalid OpenAPI accepted")
	}
	if !strings.HasPrefix(err.Error(), "api.yaml:7:5: invalid OpenAPI POST /orders/{id}:") || strings.Contains(err.Error(), "max_attempts") {
		t.Errorf("want only the OpenAPI problem at the operation, got:\n%v", err)
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse("api.yaml", []byte("openapi: 3.0.3\ninfo: [\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "api.yaml:") || !strings.Contains(err.Error(), "not valid YAML or JSON") {
		t.Fatalf("got %v", err)
	}
}
