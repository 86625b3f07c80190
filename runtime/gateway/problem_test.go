package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/gateway"
)

// TestRoutingAndDecodingErrorsAreProblems mounts the handlers
// protoc-gen-grpc-gateway generated for the test API and sends what a
// client gets wrong: a body that is not JSON, a path no route takes, a
// method a path does not allow. Each is one problem+json answer, with or
// without metrics.
func TestRoutingAndDecodingErrorsAreProblems(t *testing.T) {
	for name, opts := range map[string][]gateway.Option{"plain": nil, "metered": {gateway.WithRegisterer(prometheus.NewRegistry())}} {
		t.Run(name, func(t *testing.T) {
			mux := gateway.NewServeMux(opts...)
			if err := testv1.RegisterOrderServiceHandlerClient(t.Context(), mux, unreachableOrders{}); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				method, path, body string
				status             int
				code               string
			}{
				{"POST", "/v1/orders", `{"client_id": "c1",`, 400, "INVALID_ARGUMENT"},
				{"POST", "/v1/orders", `{"client_id": 7}`, 400, "INVALID_ARGUMENT"},
				{"GET", "/v2/nothing", "", 404, "NOT_FOUND"},
				{"PUT", "/v1/orders", `{}`, 405, "UNIMPLEMENTED"},
			} {
				req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				p := gateway.ReadProblem(t, rec.Result(), tc.status)
				if p.Type != "about:blank" || p.Title != http.StatusText(tc.status) || p.GRPCCode != tc.code || p.Detail == "" {
					t.Errorf("%s %s %q: problem %+v, want about:blank %q %s with a detail", tc.method, tc.path, tc.body, p, http.StatusText(tc.status), tc.code)
				}
			}
		})
	}
}

// unreachableOrders is a backend the decoding and routing errors never
// reach.
type unreachableOrders struct{ testv1.OrderServiceClient }

func (unreachableOrders) CreateOrder(context.Context, *testv1.CreateOrderRequest, ...grpc.CallOption) (*testv1.Order, error) {
	return nil, status.Error(codes.Internal, "the backend was called for a request the gateway must reject")
}
