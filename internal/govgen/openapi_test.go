package govgen

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	governv1 "github.com/govkit/govern/proto/govern/v1"
	"github.com/govkit/govern/runtime/policy"
)

// TestOpenAPIDocumentsAreValid validates the YAML and JSON documents with
// kin-openapi and checks what the routes promise: operations, the
// Idempotency-Key header and the x-govern policy.
func TestOpenAPIDocumentsAreValid(t *testing.T) {
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			resp := generate(t, compileRequest(t, "paths=source_relative,openapi=true,openapi_format="+format, protoImportPaths, "http.proto"))
			if resp.Error != nil {
				t.Fatal(resp.GetError())
			}
			var content string
			for _, f := range resp.File {
				if f.GetName() == "http.openapi."+format {
					content = f.GetContent()
				}
			}
			if content == "" {
				t.Fatalf("no http.openapi.%s generated", format)
			}
			loader := openapi3.NewLoader()
			doc, err := loader.LoadFromData([]byte(content))
			if err != nil {
				t.Fatal(err)
			}
			if err := doc.Validate(context.Background()); err != nil {
				t.Fatalf("kin-openapi rejects the document: %v", err)
			}

			create := doc.Paths.Find("/v1/orders").Post
			if create == nil || create.OperationID != "Orders_CreateOrder" {
				t.Fatalf("POST /v1/orders = %+v", create)
			}
			header := create.Parameters.GetByInAndName("header", "Idempotency-Key")
			if header == nil || header.Required {
				t.Errorf("CreateOrder Idempotency-Key = %+v; want optional (the key derives from key_fields)", header)
			}
			for _, code := range []int{200, 400, 409, 422} {
				if create.Responses.Status(code) == nil {
					t.Errorf("CreateOrder has no %d response", code)
				}
			}
			// x-govern is a govern.v1.Policy plus the operation-level fields
			// grpc_method and idempotency_level (internal/oasgov reads both).
			x, _ := create.Extensions["x-govern"].(map[string]any)
			if x["grpc_method"] != "/govern.golden.http.Orders/CreateOrder" {
				t.Errorf("x-govern.grpc_method = %v", x["grpc_method"])
			}
			delete(x, "grpc_method")
			delete(x, "idempotency_level")
			var pol governv1.Policy
			raw, _ := json.Marshal(x)
			if err := protojson.Unmarshal(raw, &pol); err != nil {
				t.Fatalf("x-govern is not a govern.v1.Policy: %v\n%s", err, raw)
			}
			if pol.GetTier() != governv1.Tier_TIER_GOLD || pol.GetTimeout() != "800ms" || !pol.GetIdempotency().GetRequired() || pol.GetRetry().GetMaxAttempts() != 3 {
				t.Errorf("x-govern = %v", &pol)
			}

			get := doc.Paths.Find("/v1/shops/{shop_id}/orders/{id}")
			if get == nil || get.Get == nil || get.Get.OperationID != "Orders_GetOrder_1" {
				t.Fatalf("additional binding missing: %+v", get)
			}
			if get.Get.Parameters.GetByInAndName("path", "shop_id") == nil {
				t.Error("path parameter shop_id missing")
			}
			if doc.Paths.Find("/v1/orders/{order.id}").Patch.RequestBody == nil {
				t.Error("PATCH with body: order has no request body")
			}
			if doc.Components.Schemas["govern.golden.http.Order"] == nil {
				t.Error("Order schema missing")
			}
		})
	}
}

// TestOpenAPIRequiredKeyHeader: a key the caller must send is a required
// header; testv1's CancelOrder requires a key and has no key_fields.
func TestOpenAPIRequiredKeyHeader(t *testing.T) {
	src := `syntax = "proto3";
package k.v1;
import "google/api/annotations.proto";
import "govern/v1/govern.proto";
option go_package = "example.com/k";
message R { string id = 1; }
service S {
  rpc Cancel(R) returns (R) {
    option (google.api.http) = {delete: "/v1/things/{id}"};
    option (govern.v1.method).idempotency.required = true;
  }
  rpc Plain(R) returns (R) {
    option (google.api.http) = {get: "/v1/things"};
  }
}
`
	dir := writeSources(t, map[string]string{"k.proto": src})
	resp := generate(t, compileRequest(t, "openapi=true", append([]string{dir}, protoImportPaths...), "k.proto"))
	if resp.Error != nil {
		t.Fatal(resp.GetError())
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(resp.File[1].GetContent()))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := doc.Paths.Find("/v1/things/{id}").Delete.Parameters.GetByInAndName("header", "Idempotency-Key"); h == nil || !h.Required {
		t.Errorf("Idempotency-Key = %+v, want required", h)
	}
	plain := doc.Paths.Find("/v1/things").Get
	if plain.Parameters.GetByInAndName("header", "Idempotency-Key") != nil {
		t.Error("a method without idempotency documents the header")
	}
	if plain.Parameters.GetByInAndName("query", "id") == nil {
		t.Error("unbound field id is not a query parameter")
	}
	if doc.Info.Version != "v1" {
		t.Errorf("version = %q, want the package's v1", doc.Info.Version)
	}
}

func TestPolicyProtoRoundTrip(t *testing.T) {
	m := &policy.Method{
		Tier: policy.TierSilver, Timeout: 1500 * time.Millisecond, Sampling: 0.1,
		Idempotency:    &policy.Idempotency{Required: true, KeyFields: []string{"a"}, TTL: 24 * time.Hour, Lease: 90 * time.Second},
		Retry:          &policy.Retry{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: time.Minute, Multiplier: 2, Codes: []codes.Code{codes.Unavailable}},
		RateLimit:      &policy.RateLimit{RPS: 5, Burst: 5, Scope: policy.ScopeDistributed},
		CircuitBreaker: &policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 4, Window: time.Hour, OpenFor: 200 * time.Millisecond, HalfOpenRequests: 1},
	}
	p := PolicyProto(m)
	want := &governv1.Policy{
		Tier: governv1.Tier_TIER_SILVER.Enum(), Timeout: proto.String("1.5s"), Sampling: proto.Float64(0.1),
		Idempotency:    &governv1.Idempotency{Required: proto.Bool(true), KeyFields: []string{"a"}, Ttl: proto.String("24h"), Lease: proto.String("1m30s")},
		Retry:          &governv1.Retry{MaxAttempts: proto.Uint32(3), InitialBackoff: proto.String("1ms"), MaxBackoff: proto.String("1m"), Multiplier: proto.Float64(2), Codes: []string{"UNAVAILABLE"}, Adaptive: proto.Bool(false)},
		RateLimit:      &governv1.RateLimit{Rps: proto.Float64(5), Burst: proto.Uint32(5), Scope: governv1.RateLimit_DISTRIBUTED.Enum()},
		CircuitBreaker: &governv1.CircuitBreaker{FailureRatio: proto.Float64(0.5), MinRequests: proto.Uint32(4), Window: proto.String("1h"), OpenFor: proto.String("200ms"), HalfOpenRequests: proto.Uint32(1)},
	}
	if !proto.Equal(p, want) {
		t.Errorf("PolicyProto =\n%v\nwant\n%v", p, want)
	}
}

func TestOpenAPIServerAndLicense(t *testing.T) {
	for param, want := range map[string][]string{
		"": {"servers:\n  - url: /\n", "!license:"},
		",openapi_server=https://api.example.com/shop": {"servers:\n  - url: https://api.example.com/shop\n", "!license:"},
		",openapi_license=Apache-2.0":                  {"servers:\n  - url: /\n", "license:\n    name: Apache-2.0\n"},
	} {
		resp := generate(t, compileRequest(t, "paths=source_relative,openapi=true"+param, protoImportPaths, "http.proto"))
		var doc string
		for _, f := range resp.File {
			if strings.HasSuffix(f.GetName(), ".openapi.yaml") {
				doc = f.GetContent()
			}
		}
		for _, w := range want {
			if absent, ok := strings.CutPrefix(w, "!"); ok {
				if strings.Contains(doc, absent) {
					t.Errorf("param %q: document has %q", param, absent)
				}
			} else if !strings.Contains(doc, w) {
				t.Errorf("param %q: document lacks %q", param, w)
			}
		}
	}
}

func TestOpenAPIPathAndVersion(t *testing.T) {
	paths := map[string]string{
		"/v1/orders/{id}":                 "/v1/orders/{id}",
		"/v1/{name=shelves/*}/books":      "/v1/{name}/books",
		"/v1/{parent=a/*/b/*}:list":       "/v1/{parent}:list",
		"/v1/orders/{order.id}":           "/v1/orders/{order.id}",
		"/v1/static":                      "/v1/static",
		"/v1/{a}/{b=**}":                  "/v1/{a}/{b}",
		"/v1/{name=projects/*/things/**}": "/v1/{name}",
	}
	for in, want := range paths {
		if got := openapiPath(in); got != want {
			t.Errorf("openapiPath(%q) = %q, want %q", in, got, want)
		}
	}
	versions := map[string]string{"shop.v1": "v1", "a.b.v2beta1": "v2beta1", "shop": "0.0.0", "shop.vx": "0.0.0", "v3": "v3"}
	for in, want := range versions {
		if got := apiVersion(in); got != want {
			t.Errorf("apiVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCommentAndSummary(t *testing.T) {
	c := protogen.Comments(" Echo does what the request asks: echo, sleep, fail with a code, or\n panic. File defaults only.\n")
	if got, want := comment(c), "Echo does what the request asks: echo, sleep, fail with a code, or\npanic. File defaults only."; got != want {
		t.Errorf("comment = %q, want %q", got, want)
	}
	if got, want := summary(comment(c)), "Echo does what the request asks: echo, sleep, fail with a code, or panic."; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	if got := summary("No period"); got != "No period" {
		t.Errorf("summary = %q", got)
	}
}
