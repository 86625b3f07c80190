package governance

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govkit/govern/runtime/metrics"
	"github.com/govkit/govern/runtime/policy"
)

// TestRegistererGuardsUserMetrics: a metric the service registers through
// the governor's Registerer with a label per user stays bounded in the
// scrape by default, and carries the service labels.
func TestRegistererGuardsUserMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	g, err := New(policy.Table{}, WithService("order", "test", "us-west-2"), WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	perUser := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orders_by_user_total", Help: "Orders by user."}, []string{"user_id"})
	g.Registerer().MustRegister(perUser)
	for i := range 3 * metrics.DefaultMaxLabelValues {
		perUser.WithLabelValues(fmt.Sprint("user-", i)).Inc()
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "orders_by_user_total" {
			continue
		}
		if got := len(mf.GetMetric()); got != metrics.DefaultMaxLabelValues+1 {
			t.Fatalf("orders_by_user_total exports %d series, want %d users + other", got, metrics.DefaultMaxLabelValues)
		}
		for _, lp := range mf.GetMetric()[0].GetLabel() {
			if lp.GetName() == "service" && lp.GetValue() == "order" {
				return
			}
		}
		t.Fatal("user metric lost the service label")
	}
	t.Fatal("orders_by_user_total not exported")
}
