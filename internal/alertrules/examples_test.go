package alertrules_test

import (
	"fmt"

	"github.com/govkit/govern/internal/alertrules"
	"github.com/govkit/govern/internal/slo"
	"github.com/govkit/govern/internal/slo/slotest"
)

func ExampleGenerate() {
	plan, _ := slo.NewPlan(slotest.Service, slotest.Table(), nil)
	rules := alertrules.Generate(plan)
	for _, g := range rules.Groups {
		fmt.Println(g.Name, len(g.Rules), "rules")
	}
	fmt.Println(rules.Groups[0].Rules[9+4].Expr) // the fifth alert, after 9 recording rules
	// Output:
	// govern:shop.v1.CheckoutService 29 rules
	// govern:grpc_server_error_ratio:rate1h{grpc_service="shop.v1.CheckoutService",grpc_method="Pay"} > 0.0144
	// and
	// govern:grpc_server_error_ratio:rate5m{grpc_service="shop.v1.CheckoutService",grpc_method="Pay"} > 0.0144
}
