package slo_test

import (
	"fmt"

	"github.com/govkit/govern/internal/slo"
	"github.com/govkit/govern/internal/slo/slotest"
)

func ExampleNewPlan() {
	cfg, _ := slo.ParseConfig("slo.yaml", []byte(`objectives:
  /shop.v1.CheckoutService/GetCart: {latency: 120ms}
`))
	plan, problems := slo.NewPlan(slotest.Service, slotest.Table(), cfg)
	fmt.Println(len(problems), "problems; service label", plan.Label)
	for _, m := range plan.Methods {
		fmt.Printf("%s: P99 < %v, %g%% available, latency alert %v\n", m.Policy.Name, m.Objective.Latency, m.Objective.Availability*100, m.LatencyAlert)
	}
	// Output:
	// 0 problems; service label shop
	// GetCart: P99 < 120ms, 99.5% available, latency alert true
	// Pay: P99 < 50ms, 99.9% available, latency alert true
	// WatchOrder: P99 < 1s, 99% available, latency alert false
}
