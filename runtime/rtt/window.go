package rtt

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// subBits linear sub-buckets per power of two: 16, so a bucket is at
	// most 1/16 of its lower bound wide and its midpoint is within ~3%.
	subBits    = 4
	subBuckets = 1 << subBits
	// minExp is the smallest power of two tracked: 2^10 ns ≈ 1µs; shorter
	// samples count in the first bucket.
	minExp = 10
	// maxExp is one past the largest power of two tracked: 2^37 ns ≈ 137s;
	// longer samples count in the last bucket.
	maxExp     = 37
	numBuckets = (maxExp - minExp) * subBuckets
)

// DefaultWindow is the window length of NewWindow without WithWindow.
const DefaultWindow = 10 * time.Second

// DefaultMinSamples is the fewest samples a quantile is reported from.
const DefaultMinSamples = 20

// Option configures a Window.
type Option func(*Window)

// WithWindow sets the window length: a quantile covers the last one to two
// lengths of samples. Non-positive values are ignored.
func WithWindow(d time.Duration) Option {
	return func(w *Window) {
		if d > 0 {
			w.length = d
		}
	}
}

// WithMinSamples sets the fewest samples (current plus previous window) a
// quantile is reported from; fewer make Quantile report false. Values below 1
// are ignored.
func WithMinSamples(n int) Option {
	return func(w *Window) {
		if n > 0 {
			w.minSamples = uint64(n)
		}
	}
}

// WithClock replaces time.Now, for tests that step time.
func WithClock(now func() time.Time) Option {
	return func(w *Window) {
		if now != nil {
			w.now = now
		}
	}
}

// Window is a sliding-window RTT histogram. It is safe for concurrent use;
// the zero value is not usable, build one with NewWindow.
type Window struct {
	length     time.Duration
	minSamples uint64
	now        func() time.Time
	epoch      time.Time

	// current indexes slots; windowEnd is the end of the current window in
	// nanoseconds since epoch. Both change only under rotateMu.
	current   atomic.Uint32
	windowEnd atomic.Int64
	rotateMu  sync.Mutex

	// baseline is the P99 of the first window that closed with at least
	// minSamples samples, in nanoseconds; 0 until then.
	baseline atomic.Int64

	slots [2]slot
}

type slot struct {
	total  atomic.Uint64
	counts [numBuckets]atomic.Uint64
}

// NewWindow returns an empty Window.
func NewWindow(opts ...Option) *Window {
	w := &Window{length: DefaultWindow, minSamples: DefaultMinSamples, now: time.Now}
	for _, o := range opts {
		o(w)
	}
	w.epoch = w.now()
	w.windowEnd.Store(int64(w.length))
	return w
}

// Observe records one round trip of duration d. It does not allocate and
// takes no lock, except once per window length to rotate the windows.
func (w *Window) Observe(d time.Duration) {
	if d < 0 {
		return
	}
	w.rotateIfDue()
	s := &w.slots[w.current.Load()&1]
	s.counts[bucketOf(d)].Add(1)
	s.total.Add(1)
}

// rotateIfDue moves to a fresh window when the current one has ended. The
// window that closes first with enough samples fixes the learned baseline.
func (w *Window) rotateIfDue() {
	elapsed := int64(w.now().Sub(w.epoch))
	if elapsed < w.windowEnd.Load() {
		return
	}
	w.rotateMu.Lock()
	defer w.rotateMu.Unlock()
	end := w.windowEnd.Load()
	if elapsed < end {
		return // another recorder rotated first
	}
	closing := &w.slots[w.current.Load()&1]
	if w.baseline.Load() == 0 && closing.total.Load() >= w.minSamples {
		if q, ok := quantileOf(0.99, closing); ok {
			w.baseline.Store(int64(q))
		}
	}
	next := (w.current.Load() + 1) & 1
	fresh := &w.slots[next]
	// More than one full window passed with no sample: the closing window is
	// stale as well, so a query must not see it as "previous".
	if elapsed >= end+int64(w.length) {
		closing.reset()
	}
	fresh.reset()
	w.current.Store(next)
	// Align the new window end to the window grid after elapsed.
	periods := (elapsed-end)/int64(w.length) + 1
	w.windowEnd.Store(end + periods*int64(w.length))
}

func (s *slot) reset() {
	for i := range s.counts {
		s.counts[i].Store(0)
	}
	s.total.Store(0)
}

// Quantile returns the q-quantile (0 < q ≤ 1) of the round trips observed
// in the current and previous windows, and false when they hold fewer than
// the minimum number of samples.
func (w *Window) Quantile(q float64) (time.Duration, bool) {
	w.rotateIfDue()
	a, b := &w.slots[0], &w.slots[1]
	total := a.total.Load() + b.total.Load()
	if total == 0 || total < w.minSamples {
		return 0, false
	}
	rank := rankOf(q, total)
	var seen uint64
	for i := range a.counts {
		seen += a.counts[i].Load() + b.counts[i].Load()
		if seen >= rank {
			return valueOf(i), true
		}
	}
	// Concurrent Observes raced the totals ahead of the counts.
	return valueOf(numBuckets - 1), true
}

// Count returns the number of samples a quantile is computed from now.
func (w *Window) Count() uint64 {
	w.rotateIfDue()
	return w.slots[0].total.Load() + w.slots[1].total.Load()
}

// Baseline returns the P99 of the first window that closed with at least
// the minimum number of samples, and false until such a window has closed.
// The adaptive backoff divides the current P99 by it.
func (w *Window) Baseline() (time.Duration, bool) {
	w.rotateIfDue()
	b := w.baseline.Load()
	return time.Duration(b), b > 0
}

func quantileOf(q float64, s *slot) (time.Duration, bool) {
	total := s.total.Load()
	if total == 0 {
		return 0, false
	}
	rank := rankOf(q, total)
	var seen uint64
	for i := range s.counts {
		seen += s.counts[i].Load()
		if seen >= rank {
			return valueOf(i), true
		}
	}
	return valueOf(numBuckets - 1), true
}

// rankOf is the 1-based rank of the q-quantile among total samples.
func rankOf(q float64, total uint64) uint64 {
	switch {
	case q <= 0:
		return 1
	case q >= 1:
		return total
	}
	r := uint64(math.Ceil(q * float64(total)))
	return max(r, 1)
}

// bucketOf maps a duration to its histogram bucket.
func bucketOf(d time.Duration) int {
	n := uint64(d)
	if n < 1<<minExp {
		return 0
	}
	e := bits.Len64(n) - 1 // position of the leading one
	if e >= maxExp {
		return numBuckets - 1
	}
	sub := int(n>>(e-subBits)) & (subBuckets - 1)
	return (e-minExp)*subBuckets + sub
}

// valueOf is the midpoint of bucket i, the value a quantile reports.
func valueOf(i int) time.Duration {
	e := i/subBuckets + minExp
	sub := uint64(i % subBuckets)
	width := uint64(1) << (e - subBits)
	lower := (subBuckets + sub) * width
	return time.Duration(lower + width/2)
}
