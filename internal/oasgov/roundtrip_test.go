package oasgov

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	ordersv1 "github.com/govkit/govern/examples/order/gen/order/v1"
	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/policy"
)

// TestRoundTrip reads back the OpenAPI documents protoc-gen-govern wrote
// (openapi=true) for internal/testpb and examples/order: every operation's
// x-govern resolves, through this package, to the policy the plugin
// generated for its gRPC method.
func TestRoundTrip(t *testing.T) {
	for _, c := range []struct {
		doc   string
		table policy.Table
	}{
		{filepath.Join("..", "testpb", "testv1", "test.openapi.yaml"), policy.Merge(testv1.OrderServicePolicy, testv1.InventoryServicePolicy)},
		{filepath.Join("..", "..", "examples", "order", "gen", "order", "v1", "order.openapi.yaml"), ordersv1.OrderServicePolicy},
	} {
		api, err := Load(c.doc)
		if err != nil {
			t.Fatalf("%s does not read back: %v", c.doc, err)
		}
		if len(api.Operations) == 0 {
			t.Fatalf("%s: no operations", c.doc)
		}
		for _, op := range api.Operations {
			want := c.table[op.Policy.FullMethod]
			if want == nil {
				t.Errorf("%s %s: grpc_method %q is not in the plugin's table", c.doc, op.ID, op.Policy.FullMethod)
				continue
			}
			if got, w := comparable(op.Policy), comparable(want); got != w {
				t.Errorf("%s %s resolves to\n%s\nwant (the plugin's)\n%s", c.doc, op.ID, got, w)
			}
		}
	}
}

// comparable is a policy as JSON for comparison: everything but the
// method's short name (the operationId over HTTP), the streaming flags
// (HTTP has none) and the key function; key fields in their JSON spelling
// (the document's vocabulary: client_id is clientId there).
func comparable(m *policy.Method) string {
	c := *m
	c.Name, c.ClientStreaming, c.ServerStreaming = "", false, false
	if c.Idempotency != nil {
		id := *c.Idempotency
		id.Key = nil
		id.KeyFields = nil
		for _, f := range c.Idempotency.KeyFields {
			id.KeyFields = append(id.KeyFields, jsonPath(f))
		}
		c.Idempotency = &id
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func jsonPath(p string) string {
	segs := strings.Split(p, ".")
	for i, s := range segs {
		parts := strings.Split(s, "_")
		for j := 1; j < len(parts); j++ {
			if parts[j] != "" {
				r := []rune(parts[j])
				r[0] = unicode.ToUpper(r[0])
				parts[j] = string(r)
			}
		}
		segs[i] = strings.Join(parts, "")
	}
	return strings.Join(segs, ".")
}
