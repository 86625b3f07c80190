package idempotency

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix starts every key a RedisStore writes.
const DefaultRedisPrefix = "govern:idem:"

// DefaultClaimTimeout bounds a claim's round trip to Redis. A claim decides
// whether the handler may run, so a Redis that hangs must turn into a clear
// IDEMPOTENCY_STORE_UNAVAILABLE while the caller still waits, not into the
// caller's own DEADLINE_EXCEEDED after the client's retries and read timeouts.
const DefaultClaimTimeout = 500 * time.Millisecond

// finishScript replaces the caller's in-flight claim with the finished
// record. ARGV[1] is the claim prefix (version, state, owner), ARGV[2] the
// record, ARGV[3] the TTL in milliseconds.
var finishScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1])) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
`)

// releaseScript deletes the caller's in-flight claim. ARGV[1] is the claim
// prefix.
var releaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1])) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// RedisStore is the Store for a fleet: every replica pointed at the same
// Redis (>= 7.0) sees every key.
//
// A claim is one round trip, `SET key claim NX PX lease GET`: Redis stores
// the claim only when the key is free and otherwise returns the record that
// holds it, so there is no window between a check and a write (the seed's
// EXISTS-then-SETEX race). Finish and Release are Lua scripts that compare
// the owner before writing, run by EVALSHA with a fallback to EVAL. Redis
// expiry (PX) ends a crashed owner's lease and a result's TTL; nothing needs
// cleaning up.
type RedisStore struct {
	client       redis.UniversalClient
	prefix       string
	claimTimeout time.Duration
}

// RedisOption configures a RedisStore.
type RedisOption func(*RedisStore)

// WithKeyPrefix sets the prefix of every key written (default
// DefaultRedisPrefix). Give each environment sharing one Redis its own.
func WithKeyPrefix(prefix string) RedisOption {
	return func(s *RedisStore) { s.prefix = prefix }
}

// WithClaimTimeout bounds each claim's round trip (default
// DefaultClaimTimeout; 0 leaves only the client's own timeouts). Keep it
// below the shortest method timeout so a hanging Redis is reported as
// the store being unavailable.
func WithClaimTimeout(d time.Duration) RedisOption {
	return func(s *RedisStore) { s.claimTimeout = d }
}

// NewRedisStore returns a RedisStore over client. Claims are bounded by the
// claim timeout; every store call is also bounded by the client's timeouts.
func NewRedisStore(client redis.UniversalClient, opts ...RedisOption) *RedisStore {
	s := &RedisStore{client: client, prefix: DefaultRedisPrefix, claimTimeout: DefaultClaimTimeout}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (s *RedisStore) redisKey(k Key) string {
	b := make([]byte, len(s.prefix)+2*len(k))
	copy(b, s.prefix)
	hex.Encode(b[len(s.prefix):], k[:])
	return string(b)
}

// Claim implements Store with SET NX PX GET.
func (s *RedisStore) Claim(ctx context.Context, key Key, claim Record, lease time.Duration) (Record, bool, error) {
	claim.State = StateInFlight
	value := appendRecord(make([]byte, 0, inFlightLen), &claim)
	ms := lease.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	if s.claimTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.claimTimeout)
		defer cancel()
	}
	old, err := s.client.Do(ctx, "set", s.redisKey(key), value, "px", ms, "nx", "get").Text()
	if errors.Is(err, redis.Nil) {
		return Record{}, true, nil
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("claim idempotency key in redis: %w", err)
	}
	rec, err := decodeRecord([]byte(old))
	if err != nil {
		return Record{}, false, fmt.Errorf("read idempotency record %s%s: %w", s.prefix, key, err)
	}
	return rec, false, nil
}

// Finish implements Store with a compare-owner script.
func (s *RedisStore) Finish(ctx context.Context, key Key, owner Owner, result Record, ttl time.Duration) error {
	result.State = StateFinished
	result.Owner = owner
	value := appendRecord(make([]byte, 0, bodyOffset+8+len(result.ResponseType)+len(result.Payload)), &result)
	ms := ttl.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	n, err := finishScript.Run(ctx, s.client, []string{s.redisKey(key)}, claimPrefix(owner), value, ms).Int()
	if err != nil {
		return fmt.Errorf("store idempotent result in redis: %w", err)
	}
	if n != 1 {
		return ErrNotOwner
	}
	return nil
}

// Release implements Store with a compare-owner script.
func (s *RedisStore) Release(ctx context.Context, key Key, owner Owner) error {
	n, err := releaseScript.Run(ctx, s.client, []string{s.redisKey(key)}, claimPrefix(owner)).Int()
	if err != nil {
		return fmt.Errorf("release idempotency claim in redis: %w", err)
	}
	if n != 1 {
		return ErrNotOwner
	}
	return nil
}

// Ready reports whether Redis answers, and loads the Finish and Release
// scripts so that the first call after start-up costs no extra round trip.
// It suits a readiness check.
func (s *RedisStore) Ready(ctx context.Context) error {
	for _, script := range []*redis.Script{finishScript, releaseScript} {
		if err := script.Load(ctx, s.client).Err(); err != nil {
			return fmt.Errorf("load idempotency scripts into redis: %w", err)
		}
	}
	return nil
}
