// Command order is a service of the fleet-map test fleet.
package main

import (
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	inventoryv1 "example.com/graphfleet/gen/inventory/v1"
	orderv1 "example.com/graphfleet/gen/order/v1"
	paymentv1 "example.com/graphfleet/gen/payment/v1"
)

func main() {
	s := grpc.NewServer()
	conn, err := grpc.NewClient("dns:///upstream:50051", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	orderv1.RegisterOrderServiceServer(s, nil)
	_ = paymentv1.NewPaymentServiceClient(conn)
	_ = inventoryv1.NewInventoryServiceClient(conn)
	lis, err := net.Listen("tcp", ":50051")
	if err != nil {
		panic(err)
	}
	_ = s.Serve(lis)
}
