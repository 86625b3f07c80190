// Command inventory is a service of the fleet-map test fleet.
package main

import (
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	inventoryv1 "example.com/graphfleet/gen/inventory/v1"
)

func main() {
	s := grpc.NewServer()
	conn, err := grpc.NewClient("dns:///upstream:50051", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	inventoryv1.RegisterInventoryServiceServer(s, nil)
	lis, err := net.Listen("tcp", ":50051")
	if err != nil {
		panic(err)
	}
	_ = s.Serve(lis)
}
