package retry

import (
	"fmt"
	"math"
	"sync/atomic"
)

// milli is the fixed-point scale of Budget: gRFC A6 allows token ratios with
// up to three decimal places, so thousandths of a token are exact.
const milli = 1000

// Budget is the retry token bucket of gRFC A6 ("retry throttling"): it
// starts full with MaxTokens; every failed attempt costs one token, every
// successful one refunds TokenRatio, never above MaxTokens; retries are
// allowed only while more than half of MaxTokens is left. Under a total
// outage the bucket drains in MaxTokens/2 failures and from then on each
// logical call makes exactly one attempt, so retries cannot multiply the
// load on a failing target.
//
// A Budget is safe for concurrent use and lock-free: one atomic
// compare-and-swap per update.
type Budget struct {
	max       int64 // milli-tokens
	ratio     int64 // milli-tokens refunded per success
	threshold int64 // retries need tokens > threshold
	tokens    atomic.Int64
}

// NewBudget returns a full bucket. maxTokens must be in (0, 1000] and
// tokenRatio in (0, 1], the ranges gRFC A6 allows in a service config;
// tokenRatio is rounded to three decimal places.
func NewBudget(maxTokens, tokenRatio float64) (*Budget, error) {
	if !(maxTokens > 0 && maxTokens <= 1000) {
		return nil, fmt.Errorf("retry: budget max tokens %v outside (0, 1000]; gRFC A6 default is 10", maxTokens)
	}
	if !(tokenRatio > 0 && tokenRatio <= 1) {
		return nil, fmt.Errorf("retry: budget token ratio %v outside (0, 1]; gRFC A6 default is 0.1", tokenRatio)
	}
	b := &Budget{
		max:   int64(math.Round(maxTokens * milli)),
		ratio: max(int64(math.Round(tokenRatio*milli)), 1),
	}
	b.threshold = b.max / 2
	b.tokens.Store(b.max)
	return b, nil
}

// OnFailure charges one token for a failed attempt (a retryable status, or
// a server pushback that says stop).
func (b *Budget) OnFailure() {
	for {
		t := b.tokens.Load()
		n := max(t-milli, 0)
		if n == t || b.tokens.CompareAndSwap(t, n) {
			return
		}
	}
}

// OnSuccess refunds TokenRatio for a successful attempt.
func (b *Budget) OnSuccess() {
	for {
		t := b.tokens.Load()
		n := min(t+b.ratio, b.max)
		if n == t || b.tokens.CompareAndSwap(t, n) {
			return
		}
	}
}

// Allow reports whether a retry may be sent: more than half of MaxTokens is
// left.
func (b *Budget) Allow() bool { return b.tokens.Load() > b.threshold }

// Tokens returns the tokens left, for metrics and tests.
func (b *Budget) Tokens() float64 { return float64(b.tokens.Load()) / milli }
