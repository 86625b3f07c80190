package governance_test

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"

	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/governance"
)

func Example() {
	g, err := governance.New(testv1.OrderServicePolicy,
		governance.WithService("order", "prod", "us-west-2"),
		governance.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(g.ServerOptions()...)
	defer srv.Stop()
	// testv1.RegisterOrderServiceServer(srv, impl); srv.Serve(lis)

	n, _ := testutil.GatherAndCount(g.Gatherer(), "grpc_server_started_total")
	fmt.Println(n, "methods governed, their series at zero before the first call")
	// Output: 11 methods governed, their series at zero before the first call
}
