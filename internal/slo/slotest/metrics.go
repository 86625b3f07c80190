package slotest

import (
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/metrics"
	"github.com/govkit/govern/runtime/policy"
)

// ExportedMetrics returns the names of the series the govern runtime
// exports for table's methods (a histogram's as name_bucket, name_sum and
// name_count), by registering the runtime's own collectors and gathering
// them.
func ExportedMetrics(tb testing.TB, table policy.Table) map[string]bool {
	tb.Helper()
	reg := prometheus.NewRegistry()
	sm := metrics.NewServerMetrics()
	reg.MustRegister(sm)
	for _, m := range table {
		sm.Method(m)
	}
	idempotency.NewServer(table, idempotency.NewMemoryStore(), idempotency.WithRegisterer(reg))
	families, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+suffix] = true
			}
		}
	}
	return names
}

var selected = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{`)

// SelectedMetrics returns the metric names a PromQL expression selects
// (every name followed by a label matcher, the only form the generated
// expressions use).
func SelectedMetrics(expr string) []string {
	var out []string
	for _, m := range selected.FindAllStringSubmatch(expr, -1) {
		out = append(out, m[1])
	}
	return out
}
