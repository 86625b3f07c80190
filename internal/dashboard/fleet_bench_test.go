//go:build unix

package dashboard_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/govkit/govern/internal/alertrules"
	"github.com/govkit/govern/internal/dashboard"
	"github.com/govkit/govern/internal/slo"
	"github.com/govkit/govern/internal/slo/slotest"
)

// BenchmarkFleet generates the rules (rule file and PrometheusRule) and the
// dashboard of 127 services x 10 methods from their policy tables, the
// work protoc-gen-govern adds with rules=true,dashboards=true, in the
// sub-benchmarks "rules", "dashboards" and "both".
func BenchmarkFleet(b *testing.B) {
	fleet := slotest.Fleet(127, 10)
	rules := func(b *testing.B, plan *slo.Plan) {
		rules, err := alertrules.Generate(plan).YAML()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := alertrules.PrometheusRule(rules, alertrules.ResourceName(plan.Service), nil); err != nil {
			b.Fatal(err)
		}
	}
	dash := func(b *testing.B, plan *slo.Plan) {
		if _, err := dashboard.Generate(plan, dashboard.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		gen  []func(*testing.B, *slo.Plan)
	}{{"rules", []func(*testing.B, *slo.Plan){rules}}, {"dashboards", []func(*testing.B, *slo.Plan){dash}}, {"both", []func(*testing.B, *slo.Plan){rules, dash}}} {
		b.Run(tc.name, func(b *testing.B) {
			// The machine is shared: CPU time (cpu-ms/op) is the stable
			// measure, wall time (ns/op) includes waiting for a core.
			start := processCPU()
			for b.Loop() {
				for svc, table := range fleet {
					plan, _ := slo.NewPlan(svc, table, nil)
					for _, g := range tc.gen {
						g(b, plan)
					}
				}
			}
			b.ReportMetric(float64((processCPU()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// processCPU is the user+system CPU time of this process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
