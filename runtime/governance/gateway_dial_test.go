package governance_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/gateway"
	"github.com/govkit/govern/runtime/governance"
)

// TestGatewayNeverMintsIdempotencyKeys wires the gateway as the README's
// "Serve and call" section does and sends HTTP POSTs to a method whose key
// is required. Without Idempotency-Key and without the key fields every
// POST must be 400 IDEMPOTENCY_KEY_MISSING with the handler never run,
// whichever dial options the gateway's connection was built with: the
// gateway's own (GatewayDialOptions) or the ordinary client ones
// (DialOptions), whose key-minting interceptor must leave forwarded calls
// alone. A caller's key is forwarded: two POSTs with one key run once.
func TestGatewayNeverMintsIdempotencyKeys(t *testing.T) {
	for _, wiring := range []struct {
		name string
		dial func(*governance.Governor) ([]grpc.DialOption, error)
	}{
		{"GatewayDialOptions", func(g *governance.Governor) ([]grpc.DialOption, error) { return g.GatewayDialOptions() }},
		{"DialOptions", func(g *governance.Governor) ([]grpc.DialOption, error) { return g.DialOptions() }},
	} {
		t.Run(wiring.name, func(t *testing.T) {
			g, err := governance.New(testv1.OrderServicePolicy,
				governance.WithService("order", "test", "local-1"),
				governance.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			env := startServer(t, g)
			opts, err := wiring.dial(g)
			conn := dial(t, env.addr, opts, err)
			gw := gateway.NewServeMux(gateway.WithRegisterer(g.Registerer()))
			if err := testv1.RegisterOrderServiceGateway(context.Background(), gw, conn); err != nil {
				t.Fatal(err)
			}

			post := func(body, key string) (int, map[string]any) {
				t.Helper()
				req := httptest.NewRequest("POST", "/v1/orders", strings.NewReader(body))
				if key != "" {
					req.Header.Set("Idempotency-Key", key)
				}
				rec := httptest.NewRecorder()
				gw.ServeHTTP(rec, req)
				raw, _ := io.ReadAll(rec.Body)
				var doc map[string]any
				if err := json.Unmarshal(raw, &doc); err != nil {
					t.Fatalf("body %q is not JSON: %v", raw, err)
				}
				return rec.Code, doc
			}

			for range 3 {
				code, doc := post(`{"order":{"sku":"BOOK-42"}}`, "")
				if code != http.StatusBadRequest || doc["reason"] != errinfo.IdempotencyKeyMissing {
					t.Fatalf("POST without a key = %d %v, want 400 %s", code, doc, errinfo.IdempotencyKeyMissing)
				}
			}
			if n := env.orders.callCount("CreateOrder"); n != 0 {
				t.Fatalf("CreateOrder ran %d times for POSTs without a key, want 0", n)
			}

			for range 2 {
				if code, doc := post(`{"order":{"sku":"BOOK-42"}}`, `"k1"`); code != http.StatusOK {
					t.Fatalf("POST with a key = %d %v, want 200", code, doc)
				}
			}
			if code, doc := post(`{"client_id":"c1","order":{"sn":"SN-1"}}`, ""); code != http.StatusOK {
				t.Fatalf("POST with the key fields = %d %v, want 200", code, doc)
			}
			if n := env.orders.callCount("CreateOrder"); n != 2 {
				t.Fatalf("CreateOrder ran %d times, want 2 (one per key)", n)
			}
		})
	}
}
