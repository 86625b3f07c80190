package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/admin"
	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/gateway"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func Example() {
	registry := prometheus.NewRegistry()
	gw := gateway.NewServeMux(gateway.WithRegisterer(registry))
	// In a service: orderv1.RegisterOrderServiceGateway(ctx, gw, conn).
	// Here a hand-written route stands in for the generated handlers.
	_ = gw.HandlePath("POST", "/v1/orders", func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		_, m := runtime.MarshalerForRequest(gw, r)
		runtime.HTTPError(r.Context(), gw, m, w, r,
			errinfo.Error(codes.ResourceExhausted, errinfo.RateLimited, "rate limit of 10 rps exceeded", 2*time.Second, nil))
	})

	// Gateway and admin endpoints on one explicit mux.
	mux := http.NewServeMux()
	admin.New(admin.WithGatherer(registry)).Mount(mux)
	mux.Handle("/", gw)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/orders", nil))
	body, _ := io.ReadAll(rec.Body)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"), "Retry-After:", rec.Header().Get("Retry-After"))
	fmt.Println(string(body))
	// Output:
	// 429 application/problem+json Retry-After: 2
	// {"type":"https://govern.dev/problems/rate-limited","title":"Rate limit exceeded","status":429,"detail":"rate limit of 10 rps exceeded","reason":"RATE_LIMITED","grpc_code":"RESOURCE_EXHAUSTED","route":"/v1/orders","retry_after_sec":2}
}
