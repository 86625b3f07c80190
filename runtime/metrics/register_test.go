package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govkit/govern/runtime/metrics"
)

func TestRegisterOrReuse(t *testing.T) {
	counterOpts := prometheus.CounterOpts{Name: "govern_test_total", Help: "test"}
	reg := prometheus.NewRegistry()

	first, err := metrics.RegisterOrReuse(reg, prometheus.NewCounterVec(counterOpts, []string{"a"}))
	if err != nil {
		t.Fatalf("first registration: %v", err)
	}
	second, err := metrics.RegisterOrReuse(reg, prometheus.NewCounterVec(counterOpts, []string{"a"}))
	if err != nil {
		t.Fatalf("identical second registration: %v", err)
	}
	if first != second {
		t.Fatal("an identical collector registered twice was not reused")
	}

	// Same name, another type: an error, never a silently unexported collector.
	gauge, err := metrics.RegisterOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "govern_test_total", Help: "test"}, []string{"a"}))
	if err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("type mismatch: err = %v, want an error naming the conflict", err)
	}
	if gauge == nil {
		t.Fatal("type mismatch returned a nil collector; callers must still be able to count")
	}

	// Another kind of registration error (inconsistent labels).
	if _, err := metrics.RegisterOrReuse(reg, prometheus.NewCounterVec(counterOpts, []string{"b"})); err == nil {
		t.Fatal("a conflicting label set registered without error")
	}
}
