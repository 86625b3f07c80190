package retry

import (
	"math"
	"math/rand/v2"
	"time"
)

// The field guide's constants for RTT-adaptive retry, used where a policy
// (or a hand-built table) leaves a field at zero.
const (
	// DefaultAlpha is the sensitivity α of the adaptive backoff to RTT: at
	// the baseline RTT the ceiling is the initial backoff, at twice the
	// baseline e^1.3 ≈ 3.7 × initial, at three times e^2.6 ≈ 13.5 ×.
	DefaultAlpha = 1.3
	// DefaultInitialBackoff is the ceiling of the first retry at the
	// baseline RTT.
	DefaultInitialBackoff = 100 * time.Millisecond
	// DefaultMaxBackoff caps every ceiling.
	DefaultMaxBackoff = 2 * time.Second
	// DefaultRTTBaseline is the baseline RTT of a target whose policy
	// declares none and whose baseline is not learned yet (the P99 of its
	// first window of samples).
	DefaultRTTBaseline = 210 * time.Millisecond
)

// Backoff describes one retry's backoff ceiling, before jitter.
type Backoff struct {
	// Initial, Max and Multiplier come from the method's retry policy; zero
	// Initial and Max mean DefaultInitialBackoff and DefaultMaxBackoff.
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	// Alpha is the RTT sensitivity; zero means DefaultAlpha.
	Alpha float64
}

// Ceiling returns the adaptive backoff ceiling of the n-th retry since the
// last server pushback (n = 0 for the first retry):
//
//	min(Initial × Multiplier^n × e^(α × (rttP99/rttBaseline − 1)), Max)
//
// so that at the baseline RTT the first retry's ceiling is exactly Initial,
// the policy's own number, and it grows e^α-fold per baseline of extra
// latency (shrinks towards e^−α × Initial for a target faster than its
// baseline). Later retries grow by the policy's multiplier as gRPC's own
// backoff does. A zero rttBaseline means DefaultRTTBaseline; a zero rttP99
// (nothing measured yet) counts as the baseline. The result is never
// negative and never above Max.
func (b Backoff) Ceiling(n int, rttP99, rttBaseline time.Duration) time.Duration {
	alpha := b.Alpha
	if alpha == 0 {
		alpha = DefaultAlpha
	}
	initial, ceiling := b.Initial, b.Max
	if initial <= 0 {
		initial = DefaultInitialBackoff
	}
	if ceiling <= 0 {
		ceiling = max(DefaultMaxBackoff, initial)
	}
	if rttBaseline <= 0 {
		rttBaseline = DefaultRTTBaseline
	}
	ratio := 1.0
	if rttP99 > 0 {
		ratio = float64(rttP99) / float64(rttBaseline)
	}
	mult := b.Multiplier
	if !(mult >= 1) {
		mult = 1
	}
	c := float64(initial) * math.Pow(mult, float64(max(n, 0))) * math.Exp(alpha*(ratio-1))
	if math.IsNaN(c) || c >= float64(ceiling) {
		return ceiling
	}
	return max(time.Duration(c), 0)
}

// FullJitter returns a uniformly random duration in [0, ceiling], the "full
// jitter" of the AWS architecture blog's backoff study: it spreads the
// retries of many clients that failed together over the whole interval.
func FullJitter(ceiling time.Duration) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}
