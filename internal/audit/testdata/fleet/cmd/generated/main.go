// Command generated governs its server through the generated
// OrdersServiceInterceptors, and serves no admin endpoints.
package main

import (
	"log"

	"google.golang.org/grpc"

	ordersv1 "example.com/fleet/gen/orders/v1"
)

func main() {
	unary, stream, err := ordersv1.OrdersServiceInterceptors()
	if err != nil {
		log.Fatal(err)
	}
	server := grpc.NewServer(grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(stream))
	defer server.Stop()
}
