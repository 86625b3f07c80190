package metrics

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

func family(t *testing.T, reg prometheus.Gatherer, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

func labelValue(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// TestGuardBoundsSeriesPerUser registers a counter with a user_id label
// through the guard, the mistake the guard exists for, and counts one
// series per user for 5,000 users: the scrape keeps 10 users and "other",
// the totals are exact, the fold is counted, and the vector itself is
// emptied of the folded children so memory stays bounded too.
func TestGuardBoundsSeriesPerUser(t *testing.T) {
	reg := prometheus.NewRegistry()
	labelled := prometheus.WrapRegistererWith(prometheus.Labels{"service": "order", "env": "test", "region": "us-west-2"}, reg)
	guard, err := NewCardinalityGuard(labelled, WithMaxLabelValues(10))
	if err != nil {
		t.Fatal(err)
	}
	logins := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logins_total", Help: "Logins by user."}, []string{"user_id", "result"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "login_seconds", Help: "Login latency by user.", Buckets: []float64{0.1, 1}}, []string{"user_id"})
	guard.MustRegister(logins, latency)

	const users = 5000
	round := func() {
		for i := range users {
			id := fmt.Sprintf("user-%d", i)
			logins.WithLabelValues(id, "ok").Inc()
			latency.WithLabelValues(id).Observe(0.5)
		}
	}
	check := func(rounds int) {
		t.Helper()
		mf := family(t, reg, "logins_total")
		if got := len(mf.GetMetric()); got != 11 {
			t.Fatalf("logins_total has %d series, want 10 users + other", got)
		}
		total, other := 0.0, 0.0
		for _, m := range mf.GetMetric() {
			total += m.GetCounter().GetValue()
			if labelValue(m, "user_id") == OtherLabelValue {
				other = m.GetCounter().GetValue()
			}
			if labelValue(m, "service") != "order" || labelValue(m, "result") != "ok" {
				t.Fatalf("series %v lost its labels", m.GetLabel())
			}
		}
		if total != float64(users*rounds) || other != float64((users-10)*rounds) {
			t.Fatalf("round %d: total %v other %v, want %d and %d", rounds, total, other, users*rounds, (users-10)*rounds)
		}
		h := family(t, reg, "login_seconds")
		if len(h.GetMetric()) != 11 {
			t.Fatalf("login_seconds has %d series", len(h.GetMetric()))
		}
		var count uint64
		for _, m := range h.GetMetric() {
			count += m.GetHistogram().GetSampleCount()
		}
		if count != uint64(users*rounds) {
			t.Fatalf("histogram count %d, want %d", count, users*rounds)
		}
		if got := testutil.CollectAndCount(logins); got > 10 {
			t.Fatalf("the vector still holds %d children after the scrape: folded ones must be deleted", got)
		}
	}
	round()
	check(1)
	round()
	check(2)
	check(2) // a scrape without new overflow still exports the folded totals

	folded := family(t, reg, SeriesFoldedTotal)
	if folded == nil {
		t.Fatal("no govern_metric_series_folded_total")
	}
	for _, m := range folded.GetMetric() {
		if labelValue(m, "metric") == "logins_total" && m.GetCounter().GetValue() != 2*(users-10) {
			t.Errorf("folded logins_total = %v, want %d", m.GetCounter().GetValue(), 2*(users-10))
		}
	}
}

// TestGuardKeepsGauges folds a gauge's overflow as a sum and leaves the
// gauge's children alone (a set value must not be lost).
func TestGuardKeepsGauges(t *testing.T) {
	reg := prometheus.NewRegistry()
	guard, err := NewCardinalityGuard(reg, WithMaxLabelValues(2))
	if err != nil {
		t.Fatal(err)
	}
	inflight := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "inflight", Help: "In flight by tenant."}, []string{"tenant"})
	guard.MustRegister(inflight)
	for i := range 5 {
		inflight.WithLabelValues(fmt.Sprint("t", i)).Set(1)
	}
	for range 2 {
		mf := family(t, reg, "inflight")
		sum := 0.0
		for _, m := range mf.GetMetric() {
			sum += m.GetGauge().GetValue()
		}
		if len(mf.GetMetric()) != 3 || sum != 5 {
			t.Fatalf("inflight: %d series summing %v, want 3 summing 5", len(mf.GetMetric()), sum)
		}
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP govern_metric_series_folded_total Series exported with a label value folded into "other" by govern's cardinality guard, by metric family; a non-zero rate means a label takes its values from unbounded data.
# TYPE govern_metric_series_folded_total counter
govern_metric_series_folded_total{metric="inflight"} 3
`), SeriesFoldedTotal); err != nil {
		t.Fatal(err)
	}
}

// TestGuardReuse: RegisterOrReuse through the guard returns the
// collector registered first, as it does on a bare registry.
func TestGuardReuse(t *testing.T) {
	reg := prometheus.NewRegistry()
	guard, err := NewCardinalityGuard(reg)
	if err != nil {
		t.Fatal(err)
	}
	first := prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"})
	if _, err := RegisterOrReuse(guard, first); err != nil {
		t.Fatal(err)
	}
	got, err := RegisterOrReuse(guard, prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"}))
	if err != nil || got != first {
		t.Fatalf("reuse through the guard = %v, %v; want the first counter", got, err)
	}
	if !guard.Unregister(first) {
		t.Fatal("Unregister through the guard failed")
	}
	if _, err := NewCardinalityGuard(reg); err != nil {
		t.Fatalf("a second guard on one registry: %v", err)
	}
}

// BenchmarkGatherGuard compares a scrape of 200 bounded series with and
// without the guard, and a scrape where 1,000 new user ids fold.
func BenchmarkGatherGuard(b *testing.B) {
	setup := func(b *testing.B, guarded bool) (*prometheus.Registry, *prometheus.CounterVec) {
		reg := prometheus.NewRegistry()
		var r prometheus.Registerer = reg
		if guarded {
			g, err := NewCardinalityGuard(reg)
			if err != nil {
				b.Fatal(err)
			}
			r = g
		}
		vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "requests_total", Help: "r"}, []string{"route", "code"})
		r.MustRegister(vec)
		for i := range 40 {
			for _, code := range []string{"200", "400", "404", "429", "500"} {
				vec.WithLabelValues(fmt.Sprint("/v1/route", i), code).Inc()
			}
		}
		return reg, vec
	}
	for _, bc := range []struct {
		name    string
		guarded bool
	}{{"bare", false}, {"guarded", true}} {
		b.Run(bc.name+"/200series", func(b *testing.B) {
			reg, _ := setup(b, bc.guarded)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("guarded/1000newUsersPerScrape", func(b *testing.B) {
		reg := prometheus.NewRegistry()
		g, _ := NewCardinalityGuard(reg)
		vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logins_total", Help: "l"}, []string{"user_id"})
		g.MustRegister(vec)
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			for range 1000 {
				vec.WithLabelValues(fmt.Sprint("u", n)).Inc()
				n++
			}
			if _, err := reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare/1000newUsersPerScrape", func(b *testing.B) {
		reg := prometheus.NewRegistry()
		vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logins_total", Help: "l"}, []string{"user_id"})
		reg.MustRegister(vec)
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			for range 1000 {
				vec.WithLabelValues(fmt.Sprint("u", n)).Inc()
				n++
			}
			if _, err := reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
