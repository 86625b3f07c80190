package retry

import (
	"math"
	"sync"
	"testing"
	"time"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func TestBudget(t *testing.T) {
	cases := []struct {
		name       string
		max, ratio float64
		failures   int
		successes  int
		wantTokens float64
		wantAllow  bool
	}{
		{"full", 10, 0.1, 0, 0, 10, true},
		{"four failures", 10, 0.1, 4, 0, 6, true},
		{"five failures reach half", 10, 0.1, 5, 0, 5, false},
		{"floor at zero", 10, 0.1, 50, 0, 0, false},
		{"refund above half", 10, 0.1, 5, 1, 5.1, true},
		{"cap at max", 10, 0.5, 1, 10, 10, true},
		{"milli precision", 3, 0.001, 2, 3, 1.003, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := NewBudget(c.max, c.ratio)
			if err != nil {
				t.Fatal(err)
			}
			for range c.failures {
				b.OnFailure()
			}
			for range c.successes {
				b.OnSuccess()
			}
			if got := b.Tokens(); math.Abs(got-c.wantTokens) > 1e-9 {
				t.Errorf("tokens = %v, want %v", got, c.wantTokens)
			}
			if got := b.Allow(); got != c.wantAllow {
				t.Errorf("Allow = %v, want %v", got, c.wantAllow)
			}
		})
	}
}

func TestBudgetConcurrent(t *testing.T) {
	b, _ := NewBudget(1000, 1)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				b.OnFailure()
				b.OnSuccess()
				b.OnFailure()
			}
		})
	}
	wg.Wait()
	if got := b.Tokens(); got != 600 {
		t.Errorf("tokens = %v after 800 failures and 400 refunds of 1, want 600", got)
	}
}

// Expected values are written out (e^1.3 = 3.669297, e^-0.65 = 0.522046,
// e^1 = 2.718282), not recomputed with the implementation's formula.
func TestCeiling(t *testing.T) {
	bo := Backoff{Initial: 10 * time.Millisecond, Max: time.Second, Multiplier: 2}
	cases := []struct {
		name          string
		bo            Backoff
		n             int
		p99, baseline time.Duration
		want          time.Duration
	}{
		{"at baseline the ceiling is the initial backoff", bo, 0, 50 * time.Millisecond, 50 * time.Millisecond, 10 * time.Millisecond},
		{"nothing measured counts as the baseline", bo, 0, 0, 50 * time.Millisecond, 10 * time.Millisecond},
		{"twice baseline: e^1.3 x initial", bo, 0, 100 * time.Millisecond, 50 * time.Millisecond, 36_692_967 * time.Nanosecond},
		{"half baseline: e^-0.65 x initial", bo, 0, 25 * time.Millisecond, 50 * time.Millisecond, 5_220_458 * time.Nanosecond},
		{"second retry grows by the multiplier", bo, 1, 50 * time.Millisecond, 50 * time.Millisecond, 20 * time.Millisecond},
		{"capped", bo, 0, 500 * time.Millisecond, 50 * time.Millisecond, time.Second},
		{"huge ratio does not overflow", bo, 4, time.Hour, time.Nanosecond, time.Second},
		{"custom alpha 0.5 at 3x baseline: e^1 x initial", Backoff{Initial: 10 * time.Millisecond, Max: time.Second, Multiplier: 2, Alpha: 0.5}, 0, 150 * time.Millisecond, 50 * time.Millisecond, 27_182_818 * time.Nanosecond},
		{"multiplier below 1 treated as 1", Backoff{Initial: 10 * time.Millisecond, Max: time.Second, Multiplier: 0.5}, 3, 0, 0, 10 * time.Millisecond},
		{"field guide defaults at the default 210ms baseline: 100ms", Backoff{}, 0, 210 * time.Millisecond, 0, 100 * time.Millisecond},
		{"field guide defaults at 420ms: 366.9ms", Backoff{}, 0, 420 * time.Millisecond, 0, 366_929_667 * time.Nanosecond},
		{"field guide defaults cap at 2s", Backoff{}, 0, 2 * time.Second, 0, 2 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.bo.Ceiling(c.n, c.p99, c.baseline)
			if d := got - c.want; d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("Ceiling = %v, want %v", got, c.want)
			}
		})
	}
}

// At the baseline RTT the first ceiling is exactly the configured initial
// backoff, whatever alpha, initial and baseline are.
func TestCeilingAtBaselineIsInitial(t *testing.T) {
	for _, alpha := range []float64{0.1, 1.3, 5} {
		for _, initial := range []time.Duration{time.Millisecond, 100 * time.Millisecond, 700 * time.Millisecond} {
			for _, baseline := range []time.Duration{time.Millisecond, 210 * time.Millisecond, 3 * time.Second} {
				bo := Backoff{Initial: initial, Max: time.Hour, Multiplier: 2, Alpha: alpha}
				if got := bo.Ceiling(0, baseline, baseline); got != initial {
					t.Fatalf("alpha %v initial %v baseline %v: ceiling at baseline = %v, want the initial backoff", alpha, initial, baseline, got)
				}
			}
		}
	}
}

func TestCeilingIsMonotoneInRTTAndBounded(t *testing.T) {
	bo := Backoff{Initial: time.Millisecond, Max: 300 * time.Millisecond, Multiplier: 1.6}
	for n := range 5 {
		prev := time.Duration(0)
		for p := time.Millisecond; p < 10*time.Second; p = p * 5 / 4 {
			c := bo.Ceiling(n, p, 20*time.Millisecond)
			if c < prev || c > bo.Max {
				t.Fatalf("n=%d p99=%v: ceiling %v (previous %v, max %v)", n, p, c, prev, bo.Max)
			}
			prev = c
		}
	}
}

func TestFullJitter(t *testing.T) {
	if FullJitter(0) != 0 || FullJitter(-time.Second) != 0 {
		t.Fatal("non-positive ceiling must give 0")
	}
	const ceiling = 100 * time.Millisecond
	var low, high bool
	for range 1000 {
		d := FullJitter(ceiling)
		if d < 0 || d > ceiling {
			t.Fatalf("jitter %v outside [0, %v]", d, ceiling)
		}
		low = low || d < ceiling/4
		high = high || d > 3*ceiling/4
	}
	if !low || !high {
		t.Error("1000 draws did not cover both quarters of the interval")
	}
}

func BenchmarkBudget(b *testing.B) {
	budget, _ := NewBudget(10, 0.1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			budget.OnSuccess()
			_ = budget.Allow()
		}
	})
}

func BenchmarkCeiling(b *testing.B) {
	bo := Backoff{Initial: time.Millisecond, Max: time.Second, Multiplier: 2}
	b.ReportAllocs()
	for b.Loop() {
		_ = bo.Ceiling(2, 30*time.Millisecond, 20*time.Millisecond)
	}
}
