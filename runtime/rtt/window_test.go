package rtt

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a clock tests step by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestBucketPrecision(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		// log-uniform between 2µs and 100s, inside the tracked range
		d := time.Duration(2 * float64(time.Microsecond) * math.Pow(10, r.Float64()*7.6))
		got := valueOf(bucketOf(d))
		if rel := relErr(got, d); rel > 1.0/32+1e-9 {
			t.Fatalf("d=%v reported as %v: relative error %.4f > 1/32", d, got, rel)
		}
	}
}

func TestBucketEdges(t *testing.T) {
	cases := []struct {
		name string
		d    time.Duration
		want int
	}{
		{"zero", 0, 0},
		{"below range", 500 * time.Nanosecond, 0},
		{"range start", 1 << minExp, 0},
		{"above range", 10 * time.Minute, numBuckets - 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := bucketOf(c.d); got != c.want {
				t.Errorf("bucketOf(%v) = %d, want %d", c.d, got, c.want)
			}
		})
	}
	for i := 1; i < numBuckets; i++ {
		if valueOf(i) <= valueOf(i-1) {
			t.Fatalf("bucket values not increasing at %d", i)
		}
		if bucketOf(valueOf(i)) != i {
			t.Fatalf("bucketOf(valueOf(%d)) = %d", i, bucketOf(valueOf(i)))
		}
	}
}

func TestQuantiles(t *testing.T) {
	cases := []struct {
		name    string
		samples func(i int) time.Duration
		n       int
		q       float64
		want    time.Duration
	}{
		{"uniform 1..1000ms p50", func(i int) time.Duration { return time.Duration(i+1) * time.Millisecond }, 1000, 0.5, 500 * time.Millisecond},
		{"uniform 1..1000ms p99", func(i int) time.Duration { return time.Duration(i+1) * time.Millisecond }, 1000, 0.99, 990 * time.Millisecond},
		{"1% slow tail p99", func(i int) time.Duration {
			if i%100 == 0 {
				return 200 * time.Millisecond
			}
			return 2 * time.Millisecond
		}, 1000, 0.99, 2 * time.Millisecond},
		{"2% slow tail p99", func(i int) time.Duration {
			if i%50 == 0 {
				return 200 * time.Millisecond
			}
			return 2 * time.Millisecond
		}, 1000, 0.99, 200 * time.Millisecond},
		{"constant", func(int) time.Duration { return 37 * time.Millisecond }, 50, 0.99, 37 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := NewWindow()
			for i := range c.n {
				w.Observe(c.samples(i))
			}
			got, ok := w.Quantile(c.q)
			if !ok {
				t.Fatal("no quantile")
			}
			if rel := relErr(got, c.want); rel > 0.04 {
				t.Errorf("q%.2f = %v, want %v (±4%%)", c.q, got, c.want)
			}
		})
	}
}

func TestMinSamples(t *testing.T) {
	w := NewWindow(WithMinSamples(5))
	for range 4 {
		w.Observe(time.Millisecond)
	}
	if _, ok := w.Quantile(0.99); ok {
		t.Fatal("quantile reported from 4 samples with minimum 5")
	}
	w.Observe(time.Millisecond)
	if _, ok := w.Quantile(0.99); !ok {
		t.Fatal("no quantile from 5 samples with minimum 5")
	}
}

func TestWindowForgetsAndLearnsBaseline(t *testing.T) {
	clk := newFakeClock()
	w := NewWindow(WithClock(clk.Now), WithWindow(time.Second), WithMinSamples(10))

	if _, ok := w.Baseline(); ok {
		t.Fatal("baseline before any window closed")
	}
	for range 100 {
		w.Observe(10 * time.Millisecond)
	}
	clk.Advance(time.Second) // first window closes: baseline learned
	base, ok := w.Baseline()
	if !ok || relErr(base, 10*time.Millisecond) > 0.04 {
		t.Fatalf("baseline = %v, %v; want ~10ms", base, ok)
	}
	for range 100 {
		w.Observe(100 * time.Millisecond)
	}
	// Previous (10ms) and current (100ms) windows are merged.
	if p50, _ := w.Quantile(0.5); relErr(p50, 10*time.Millisecond) > 0.04 {
		t.Errorf("merged p50 = %v, want ~10ms", p50)
	}
	if p99, _ := w.Quantile(0.99); relErr(p99, 100*time.Millisecond) > 0.04 {
		t.Errorf("merged p99 = %v, want ~100ms", p99)
	}
	clk.Advance(time.Second) // the 10ms window falls out
	if p50, _ := w.Quantile(0.5); relErr(p50, 100*time.Millisecond) > 0.04 {
		t.Errorf("p50 after rotation = %v, want ~100ms", p50)
	}
	if b, _ := w.Baseline(); b != base {
		t.Errorf("baseline moved from %v to %v; it is learned once", base, b)
	}
	clk.Advance(5 * time.Second) // idle: everything is stale
	if n := w.Count(); n != 0 {
		t.Errorf("count after idle = %d, want 0", n)
	}
}

func TestBaselineWaitsForEnoughSamples(t *testing.T) {
	clk := newFakeClock()
	w := NewWindow(WithClock(clk.Now), WithWindow(time.Second), WithMinSamples(10))
	for range 3 {
		w.Observe(time.Millisecond)
	}
	clk.Advance(time.Second)
	if _, ok := w.Baseline(); ok {
		t.Fatal("baseline learned from 3 samples")
	}
	for range 20 {
		w.Observe(4 * time.Millisecond)
	}
	clk.Advance(time.Second)
	if b, ok := w.Baseline(); !ok || relErr(b, 4*time.Millisecond) > 0.04 {
		t.Fatalf("baseline = %v, %v; want ~4ms", b, ok)
	}
}

func TestConcurrentObserve(t *testing.T) {
	w := NewWindow(WithWindow(time.Millisecond))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5000 {
				w.Observe(time.Duration(g*i) * time.Microsecond)
				if i%100 == 0 {
					w.Quantile(0.99)
				}
			}
		})
	}
	wg.Wait()
	if _, ok := w.Quantile(0.5); !ok && w.Count() >= DefaultMinSamples {
		t.Fatal("no quantile despite enough samples")
	}
}

func BenchmarkObserve(b *testing.B) {
	w := NewWindow()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := 3 * time.Millisecond
		for pb.Next() {
			w.Observe(d)
		}
	})
}

func BenchmarkQuantile(b *testing.B) {
	w := NewWindow()
	for i := range 10_000 {
		w.Observe(time.Duration(i) * time.Microsecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		w.Quantile(0.99)
	}
}

func relErr(got, want time.Duration) float64 {
	d := float64(got - want)
	if d < 0 {
		d = -d
	}
	return d / float64(want)
}
