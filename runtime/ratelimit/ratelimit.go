package ratelimit

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/policy"
)

// DefaultKeyPrefix prefixes the keys of distributed limits in their Store.
const DefaultKeyPrefix = "govern:ratelimit:"

// DefaultStoreTimeout bounds one distributed admission round trip; past it
// the call is admitted (or not) by the local limiter instead.
const DefaultStoreTimeout = 50 * time.Millisecond

// DefaultStoreRetryAfter is how long a limiter counts locally after a
// failed Store round trip before it tries the Store again, so that an
// outage does not add a Store timeout to every call.
const DefaultStoreRetryAfter = time.Second

// Store keeps the state of DISTRIBUTED limits, shared by every replica of a
// service: runtime/ratelimit/redislimit implements it on Redis or a Redis
// Cluster. It lives behind this interface so that a binary without
// distributed limits does not link a Redis client.
type Store interface {
	// Admit takes one call from the budget kept under key: rps calls per
	// second with bursts of burst (GCRA, on one clock for every replica).
	// It reports whether the call is admitted and, when it is not, how
	// long until a call would be. An error means the store did not
	// answer; the limiter then counts locally.
	Admit(ctx context.Context, key string, rps float64, burst int) (admitted bool, retryAfter time.Duration, err error)
}

// Limiter admits the calls of one method. It is safe for concurrent use.
type Limiter struct {
	method string
	policy policy.RateLimit
	local  *rate.Limiter

	store        Store
	key          string
	storeTimeout time.Duration
	retryAfter   time.Duration
	onFallback   func(error)
	// storeDownUntil (Unix ns) skips the store after a failure.
	storeDownUntil atomic.Int64
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithStore sets the shared store of DISTRIBUTED limits (for Redis,
// redislimit.New(client)). Without it a DISTRIBUTED policy counts locally,
// per replica.
func WithStore(store Store) Option {
	return func(l *Limiter) { l.store = store }
}

// WithKeyPrefix replaces DefaultKeyPrefix; runtime/governance adds the
// service name so that two services never share a key.
func WithKeyPrefix(prefix string) Option {
	return func(l *Limiter) { l.key = prefix }
}

// WithStoreTimeout replaces DefaultStoreTimeout.
func WithStoreTimeout(d time.Duration) Option {
	return func(l *Limiter) { l.storeTimeout = d }
}

// WithStoreRetryAfter replaces DefaultStoreRetryAfter; zero tries the store
// on every call.
func WithStoreRetryAfter(d time.Duration) Option {
	return func(l *Limiter) { l.retryAfter = d }
}

// WithFallbackHook calls fn with the store's error each time a distributed
// admission falls back to the local limiter because the store failed. A
// caller whose own context ended is not a store failure and does not call
// it.
func WithFallbackHook(fn func(error)) Option {
	return func(l *Limiter) { l.onFallback = fn }
}

// New returns the limiter of method (a full method name) for policy p.
// RPS <= 0 admits everything; Burst <= 0 defaults to max(1, ceil(RPS)).
func New(method string, p policy.RateLimit, opts ...Option) *Limiter {
	l := &Limiter{method: method, policy: p, key: DefaultKeyPrefix, storeTimeout: DefaultStoreTimeout, retryAfter: DefaultStoreRetryAfter}
	for _, o := range opts {
		o(l)
	}
	if l.policy.Burst <= 0 {
		l.policy.Burst = max(1, int(math.Ceil(l.policy.RPS)))
	}
	limit := rate.Limit(l.policy.RPS)
	if l.policy.RPS <= 0 {
		limit = rate.Inf
	}
	l.local = rate.NewLimiter(limit, l.policy.Burst)
	l.key += method
	return l
}

// Distributed reports whether admissions go through the shared store.
func (l *Limiter) Distributed() bool {
	return l.policy.Scope == policy.ScopeDistributed && l.store != nil && l.policy.RPS > 0
}

// Policy returns the resolved policy the limiter enforces.
func (l *Limiter) Policy() policy.RateLimit { return l.policy }

// Allow admits one call, or returns RESOURCE_EXHAUSTED with ErrorInfo
// reason RATE_LIMITED and a RetryInfo delay. A LOCAL limit allocates
// nothing when it admits. A DISTRIBUTED limit asks the store in one round
// trip and falls back to the local limiter when the store fails or is
// slower than the store timeout, then keeps counting locally for the store
// retry interval before asking it again. A caller whose context ends while
// the store is asked gets its context's status (CANCELLED or
// DEADLINE_EXCEEDED): its giving up says nothing about the store, so it
// never switches other callers to the local limiter.
func (l *Limiter) Allow(ctx context.Context) error {
	return l.AllowAt(ctx, time.Now())
}

// AllowAt is Allow for a call arriving at now, for callers that have read
// the clock already.
func (l *Limiter) AllowAt(ctx context.Context, now time.Time) error {
	if l.Distributed() && now.UnixNano() >= l.storeDownUntil.Load() {
		admitted, retryAfter, err := l.allowShared(ctx)
		switch {
		case err == nil && admitted:
			return nil
		case err == nil:
			return l.rejection(retryAfter)
		case ctx.Err() != nil:
			return status.FromContextError(ctx.Err()).Err()
		}
		l.storeDownUntil.Store(now.Add(l.retryAfter).UnixNano())
		if l.onFallback != nil {
			l.onFallback(err)
		}
	}
	if l.local.AllowN(now, 1) {
		return nil
	}
	return l.rejection(l.localRetryAfter())
}

func (l *Limiter) allowShared(ctx context.Context) (admitted bool, retryAfter time.Duration, err error) {
	sctx, cancel := context.WithTimeout(ctx, l.storeTimeout)
	defer cancel()
	admitted, retryAfter, err = l.store.Admit(sctx, l.key, l.policy.RPS, l.policy.Burst)
	if err != nil {
		return false, 0, fmt.Errorf("ratelimit: distributed admission of %s failed (counting locally instead; check the store's address): %w", l.method, err)
	}
	return admitted, retryAfter, nil
}

// localRetryAfter is the time until the local bucket holds one token.
func (l *Limiter) localRetryAfter() time.Duration {
	missing := 1 - l.local.Tokens()
	if missing <= 0 || l.policy.RPS <= 0 {
		return 0
	}
	return time.Duration(missing / l.policy.RPS * float64(time.Second))
}

func (l *Limiter) rejection(retryAfter time.Duration) error {
	return errinfo.Error(codes.ResourceExhausted, errinfo.RateLimited,
		fmt.Sprintf("rate limit of %s (%g calls/s, burst %d, %s) exceeded; retry after the RetryInfo delay",
			l.method, l.policy.RPS, l.policy.Burst, l.policy.Scope),
		retryAfter, map[string]string{"method": l.method, "scope": l.policy.Scope.String()})
}
