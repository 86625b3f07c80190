// Command frontdoor is fully governed: govern server options, admin
// endpoints, a generated policy, and its only client connection is the
// gateway's loopback to its own server.
package main

import (
	"log"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	ordersv1 "example.com/fleet/gen/orders/v1"
	"github.com/govkit/govern/runtime/admin"
	"github.com/govkit/govern/runtime/recovery"
)

func main() {
	server := grpc.NewServer(grpc.UnaryInterceptor(recovery.UnaryServerInterceptor(nil)))
	defer server.Stop()
	conn, err := grpc.NewClient("127.0.0.1:9090", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if err := ordersv1.RegisterOrdersServiceGateway(conn); err != nil {
		log.Fatal(err)
	}
	_ = admin.New()
	log.Printf("%d governed methods", len(ordersv1.OrdersServicePolicy))
}
