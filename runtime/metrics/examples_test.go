package metrics_test

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/metrics"
	"github.com/govkit/govern/runtime/policy"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func Example() {
	reg := prometheus.NewRegistry()
	m := metrics.NewServerMetrics()
	labelled := prometheus.WrapRegistererWith(prometheus.Labels{"service": "shop", "env": "prod", "region": "eu-west-1"}, reg)
	if err := labelled.Register(m); err != nil {
		panic(err)
	}
	create := m.Method(&policy.Method{FullMethod: "/shop.v1.Orders/Create", Service: "shop.v1.Orders", Name: "Create", Tier: policy.TierGold})
	create.Started()
	create.Handled(codes.OK, 3*time.Millisecond)

	n, _ := testutil.GatherAndCount(reg, metrics.HandledTotal)
	fmt.Println(n, "grpc_server_handled_total series, one per code, created up front")
	// Output: 17 grpc_server_handled_total series, one per code, created up front
}
