// Command gateway is a service of the fleet-map test fleet.
package main

import (
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	orderv1 "example.com/graphfleet/gen/order/v1"
)

func main() {
	s := grpc.NewServer()
	conn, err := grpc.NewClient("dns:///upstream:50051", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	_ = orderv1.NewOrderServiceClient(conn)
	lis, err := net.Listen("tcp", ":50051")
	if err != nil {
		panic(err)
	}
	_ = s.Serve(lis)
}
