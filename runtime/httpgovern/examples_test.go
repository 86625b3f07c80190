package httpgovern_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/httpgovern"
	"github.com/govkit/govern/runtime/policy"
)

// getOrder is an operation's resolved policy, as the generated table
// (api.Routes, or a proto's OrderServicePolicy) holds it.
var getOrder = &policy.Method{
	FullMethod: "/orders.v1.OrderService/GetOrder", Service: "orders.v1.OrderService", Name: "GetOrder",
	Timeout:        800 * time.Millisecond,
	CircuitBreaker: &policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 1, Window: time.Minute, OpenFor: time.Minute, HalfOpenRequests: 1},
}

var routes = []policy.Route{{HTTPMethod: "GET", Pattern: "/orders/{id}", FullMethod: getOrder.FullMethod, Policy: getOrder}}

// getOrderHandler stands for the service; the canary build is broken.
func getOrderHandler(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Canary") == "true" {
		http.Error(w, "canary bug", http.StatusInternalServerError)
	}
}

func request(h http.Handler, canary bool) int {
	req := httptest.NewRequest("GET", "/orders/42", nil)
	if canary {
		req.Header.Set("X-Canary", "true")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// An HTTP-first service: the middleware builds its governor from the
// routes, here with canary traffic in a group of its own, so a broken
// canary opens the canary's breaker and leaves the rest served.
func ExampleNew() {
	reg := prometheus.NewRegistry() // serve it on the admin endpoint
	mw, err := httpgovern.New(routes,
		httpgovern.WithService("orders", "prod", "eu-west-1"),
		httpgovern.WithRegisterer(reg),
		httpgovern.WithTrafficGroups("X-Canary", "true"))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux() // the middleware runs inside the mux
	mux.Handle("GET /orders/{id}", mw.Handler(http.HandlerFunc(getOrderHandler)))

	fmt.Println("canary:", request(mux, true), request(mux, true))
	fmt.Println("default:", request(mux, false))
	// Output:
	// canary: 500 503
	// default: 200
}

// A service that serves the operation over gRPC and HTTP admits both
// through its gRPC governor: one rate limit, one breaker per traffic
// group, whichever transport the calls come over.
func ExampleWithGovernor() {
	reg := prometheus.NewRegistry()
	g, err := governance.New(policy.Table{getOrder.FullMethod: getOrder},
		governance.WithService("orders", "prod", "eu-west-1"),
		governance.WithRegisterer(reg),
		governance.WithLogger(slog.New(slog.DiscardHandler)),
		governance.WithTrafficGroups("x-canary", "true"))
	if err != nil {
		panic(err)
	}
	grpcServer := grpc.NewServer(g.ServerOptions()...)
	defer grpcServer.Stop()

	mw, err := httpgovern.New(routes, httpgovern.WithGovernor(g),
		httpgovern.WithService("orders", "prod", "eu-west-1"), httpgovern.WithRegisterer(reg))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orders/{id}", mw.Handler(http.HandlerFunc(getOrderHandler)))

	fmt.Println("canary over HTTP:", request(mux, true), request(mux, true))
	fmt.Println("canary breaker for gRPC calls:", g.GroupBreaker(getOrder.FullMethod, "true").State())
	fmt.Println("default breaker:", g.Breaker(getOrder.FullMethod).State())
	// Output:
	// canary over HTTP: 500 503
	// canary breaker for gRPC calls: open
	// default breaker: closed
}
