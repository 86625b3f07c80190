// Command orders uses a generated policy, a governed client and the admin
// endpoints, but builds its gRPC server without govern options.
package main

import (
	"log"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	ordersv1 "example.com/fleet/gen/orders/v1"
	"example.com/fleet/internal/wiring"
	retrypkg "github.com/govkit/govern/runtime/retry"
)

func main() {
	retrier, err := retrypkg.New(ordersv1.OrdersServicePolicy)
	if err != nil {
		log.Fatal(err)
	}
	conn, err := grpc.NewClient("localhost:9090",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(retrier.UnaryClientInterceptor()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	server := grpc.NewServer()
	defer server.Stop()
	_ = ordersv1.NotGenerated
	srv := &http.Server{Addr: ":9091", Handler: wiring.Admin("orders"), ReadHeaderTimeout: time.Second}
	log.Fatal(srv.ListenAndServe())
}
