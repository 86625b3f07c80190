package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/policy"
)

// DefaultKeyPrefix prefixes the Redis keys of distributed limits.
const DefaultKeyPrefix = "govern:ratelimit:"

// DefaultRedisTimeout bounds one distributed admission round trip; past it
// the call is admitted (or not) by the local limiter instead.
const DefaultRedisTimeout = 50 * time.Millisecond

// DefaultRedisRetryAfter is how long a limiter counts locally after a
// failed Redis round trip before it tries Redis again, so that a Redis
// outage does not add a Redis timeout to every call.
const DefaultRedisRetryAfter = time.Second

// gcraScript is the distributed admission: GCRA (generic cell rate
// algorithm) over one key holding the theoretical arrival time (TAT) in
// microseconds of the Redis server clock, so replicas with skewed clocks
// agree. One EVALSHA per call, one round trip.
//
// KEYS[1] the method's key; ARGV[1] emission interval (µs per call);
// ARGV[2] burst. Returns {1, 0} when admitted, {0, µs until a call would
// be admitted} when rejected.
var gcraScript = redis.NewScript(`
local emission = tonumber(ARGV[1])
local tolerance = emission * tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local new_tat = tat + emission
local allow_at = new_tat - tolerance
if allow_at > now then
  return {0, math.ceil(allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0}
`)

// Limiter admits the calls of one method. It is safe for concurrent use.
type Limiter struct {
	method string
	policy policy.RateLimit
	local  *rate.Limiter

	redis        redis.UniversalClient
	key          string
	emissionUS   string
	burst        string
	redisTimeout time.Duration
	retryAfter   time.Duration
	onFallback   func(error)
	// redisDownUntil (Unix ns) skips Redis after a failure.
	redisDownUntil atomic.Int64
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithRedis sets the client of DISTRIBUTED limits. Without it a
// DISTRIBUTED policy counts locally, per replica.
func WithRedis(client redis.UniversalClient) Option {
	return func(l *Limiter) { l.redis = client }
}

// WithKeyPrefix replaces DefaultKeyPrefix; runtime/governance adds the
// service name so that two services never share a key.
func WithKeyPrefix(prefix string) Option {
	return func(l *Limiter) { l.key = prefix }
}

// WithRedisTimeout replaces DefaultRedisTimeout.
func WithRedisTimeout(d time.Duration) Option {
	return func(l *Limiter) { l.redisTimeout = d }
}

// WithRedisRetryAfter replaces DefaultRedisRetryAfter; zero tries Redis on
// every call.
func WithRedisRetryAfter(d time.Duration) Option {
	return func(l *Limiter) { l.retryAfter = d }
}

// WithFallbackHook calls fn with the Redis error each time a distributed
// admission falls back to the local limiter.
func WithFallbackHook(fn func(error)) Option {
	return func(l *Limiter) { l.onFallback = fn }
}

// New returns the limiter of method (a full method name) for policy p.
// RPS <= 0 admits everything; Burst <= 0 defaults to max(1, ceil(RPS)).
func New(method string, p policy.RateLimit, opts ...Option) *Limiter {
	l := &Limiter{method: method, policy: p, key: DefaultKeyPrefix, redisTimeout: DefaultRedisTimeout, retryAfter: DefaultRedisRetryAfter}
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
	if l.policy.RPS > 0 {
		l.emissionUS = strconv.FormatFloat(1e6/l.policy.RPS, 'f', 3, 64)
	}
	l.burst = strconv.Itoa(l.policy.Burst)
	return l
}

// Distributed reports whether admissions go through Redis.
func (l *Limiter) Distributed() bool {
	return l.policy.Scope == policy.ScopeDistributed && l.redis != nil && l.policy.RPS > 0
}

// Policy returns the resolved policy the limiter enforces.
func (l *Limiter) Policy() policy.RateLimit { return l.policy }

// Allow admits one call, or returns RESOURCE_EXHAUSTED with ErrorInfo
// reason RATE_LIMITED and a RetryInfo delay. A LOCAL limit allocates
// nothing when it admits. A DISTRIBUTED limit asks Redis in one round trip
// and falls back to the local limiter when Redis fails or is slower than
// the Redis timeout, then keeps counting locally for the Redis retry
// interval before asking Redis again.
func (l *Limiter) Allow(ctx context.Context) error {
	return l.AllowAt(ctx, time.Now())
}

// AllowAt is Allow for a call arriving at now, for callers that have read
// the clock already.
func (l *Limiter) AllowAt(ctx context.Context, now time.Time) error {
	if l.Distributed() && now.UnixNano() >= l.redisDownUntil.Load() {
		admitted, retryAfter, err := l.allowRedis(ctx)
		if err == nil {
			if admitted {
				return nil
			}
			return l.rejection(retryAfter)
		}
		l.redisDownUntil.Store(now.Add(l.retryAfter).UnixNano())
		if l.onFallback != nil {
			l.onFallback(err)
		}
	}
	if l.local.AllowN(now, 1) {
		return nil
	}
	return l.rejection(l.localRetryAfter())
}

func (l *Limiter) allowRedis(ctx context.Context) (admitted bool, retryAfter time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, l.redisTimeout)
	defer cancel()
	res, err := gcraScript.Run(ctx, l.redis, []string{l.key}, l.emissionUS, l.burst).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("ratelimit: distributed admission of %s through Redis failed (counting locally instead; check the Redis address): %w", l.method, err)
	}
	if len(res) != 2 {
		return false, 0, errors.New("ratelimit: unexpected reply from the GCRA script; was the key written by something else?")
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
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
