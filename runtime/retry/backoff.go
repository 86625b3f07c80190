package retry

import (
	"math"
	"math/rand/v2"
	"time"
)

// DefaultAlpha is the sensitivity α of the adaptive backoff to RTT: at the
// baseline RTT the backoff is initial × e^1.3 ≈ 3.7 × initial, at twice the
// baseline ≈ 13.5 × initial, at three times ≈ 49 × initial.
const DefaultAlpha = 1.3

// Backoff describes one retry's backoff ceiling, before jitter.
type Backoff struct {
	// Initial, Max and Multiplier come from the method's retry policy.
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	// Alpha is the RTT sensitivity; zero means DefaultAlpha.
	Alpha float64
}

// Ceiling returns the adaptive backoff ceiling of the n-th retry since the
// last server pushback (n = 0 for the first retry):
//
//	min(Initial × Multiplier^n × e^(α × rttP99/rttBaseline), Max)
//
// which is the section 4.4 formula for n = 0, grown by the policy's
// multiplier on later retries as gRPC's own backoff grows. A zero rttP99 or
// rttBaseline (nothing measured or learned yet) counts as the ratio 1, the
// steady state. The result is never negative and never above Max.
func (b Backoff) Ceiling(n int, rttP99, rttBaseline time.Duration) time.Duration {
	alpha := b.Alpha
	if alpha == 0 {
		alpha = DefaultAlpha
	}
	ratio := 1.0
	if rttP99 > 0 && rttBaseline > 0 {
		ratio = float64(rttP99) / float64(rttBaseline)
	}
	mult := b.Multiplier
	if !(mult >= 1) {
		mult = 1
	}
	c := float64(b.Initial) * math.Pow(mult, float64(max(n, 0))) * math.Exp(alpha*ratio)
	if math.IsNaN(c) || c >= float64(b.Max) {
		return max(b.Max, 0)
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
