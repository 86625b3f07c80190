package redisstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/govkit/govern/internal/redishealth"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/metrics"
)

// DefaultKeyPrefix starts every key a Store writes.
const DefaultKeyPrefix = "govern:idem:"

// DefaultClaimTimeout bounds a claim's round trip to Redis. A claim decides
// whether the handler may run, so a Redis that hangs must turn into a clear
// IDEMPOTENCY_STORE_UNAVAILABLE while the caller still waits, not into the
// caller's own DEADLINE_EXCEEDED after the client's retries and read timeouts.
const DefaultClaimTimeout = 500 * time.Millisecond

// ErrReplicaAcks reports that a claim or result was written on the primary
// but fewer replicas than WithReplicaAcks asks for confirmed it in time. A
// claim that fails this way is released and the call fails closed: the
// handler never runs on a claim that a failover could lose.
var ErrReplicaAcks = errors.New("redis replicas did not acknowledge the idempotency write in time")

// finishScript stores the finished record in place of the caller's
// in-flight claim, or on a free key (the claim expired and nobody claimed
// since). ARGV[1] is the claim prefix (version, state, owner), ARGV[2] the
// record, ARGV[3] the TTL in milliseconds. A key that already holds exactly
// this record answers 1: the script ran before and its reply was lost.
var finishScript = redis.NewScript(finishSource)

const finishSource = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[2] then
  return 1
end
if not v or string.sub(v, 1, string.len(ARGV[1])) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
`

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

// Store is the idempotency.Store for a fleet: every replica pointed at the
// same Redis (>= 7.0) or Redis Cluster sees every key.
//
// A claim is one round trip, `SET key claim NX PX lease GET`: Redis stores
// the claim only when the key is free and otherwise returns the record that
// holds it, so there is no window between a check and a write (the seed's
// EXISTS-then-SETEX race). Finish and Release are Lua scripts that compare
// the owner before writing, run by EVALSHA with a fallback to EVAL. Every
// command touches one key, so on a Redis Cluster each runs on the primary of
// its key's slot (go-redis follows MOVED and ASK) and none can fail with
// CROSSSLOT. Redis expiry (PX) ends a crashed owner's lease and a result's
// TTL; nothing needs cleaning up.
type Store struct {
	client       redis.UniversalClient
	prefix       string
	claimTimeout time.Duration
	acks         int
	ackTimeout   time.Duration
	registerer   prometheus.Registerer
	state        *prometheus.GaugeVec
	ackFailures  prometheus.Counter
}

var _ idempotency.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithKeyPrefix sets the prefix of every key written (default
// DefaultKeyPrefix). Give each environment sharing one Redis its own.
func WithKeyPrefix(prefix string) Option {
	return func(s *Store) { s.prefix = prefix }
}

// WithClaimTimeout bounds each claim's round trip (default
// DefaultClaimTimeout; 0 leaves only the client's own timeouts). Keep it
// below the shortest method timeout so a hanging Redis is reported as the
// store being unavailable. The go-redis client needs ContextTimeoutEnabled
// for a deadline to cut a read short.
func WithClaimTimeout(d time.Duration) Option {
	return func(s *Store) { s.claimTimeout = d }
}

// WithReplicaAcks makes every claim and result wait, in the same round
// trip, until n replicas of its primary hold it (Redis WAIT), for at most
// timeout. A claim not acknowledged in time is released and the call fails
// closed with IDEMPOTENCY_STORE_UNAVAILABLE, so a handler only runs on a
// claim that survives the failover of its primary. It costs the replication
// delay on every claim and finish; n = 0 (the default) answers after the
// primary alone. Keep timeout below the claim timeout.
func WithReplicaAcks(n int, timeout time.Duration) Option {
	return func(s *Store) { s.acks, s.ackTimeout = n, timeout }
}

// WithRegisterer exports the store's health on reg: the gauge
// govern_idempotency_store_state{state="available|degraded|unavailable"}
// (set by Ready, so by each readiness probe) and the counter
// govern_idempotency_replica_ack_failures_total.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(s *Store) { s.registerer = reg }
}

// New returns a Store over client: a *redis.Client, a *redis.ClusterClient,
// or what redis.NewUniversalClient returns for a list of addresses (one:
// a Redis; several: a Redis Cluster). Set ContextTimeoutEnabled on the
// client so that the claim timeout and call deadlines bound Redis reads.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	s := &Store{client: client, prefix: DefaultKeyPrefix, claimTimeout: DefaultClaimTimeout}
	for _, o := range opts {
		o(s)
	}
	if s.acks < 0 || (s.acks > 0 && s.ackTimeout <= 0) {
		return nil, fmt.Errorf("redisstore: WithReplicaAcks(%d, %v): give a replica count >= 0 and, with replicas, a timeout > 0", s.acks, s.ackTimeout)
	}
	if _, ring := client.(*redis.Ring); ring && s.acks > 0 {
		return nil, errors.New("redisstore: WithReplicaAcks needs a Redis, a Redis Cluster or a Sentinel-managed Redis; a Ring has no replicas")
	}
	s.state = redishealth.NewStateGauge("govern_idempotency_store_state", "the Redis idempotency store")
	s.ackFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "govern_idempotency_replica_ack_failures_total",
		Help: "Idempotency claims and results that fewer replicas than WithReplicaAcks asks for acknowledged in time.",
	})
	if s.registerer != nil {
		var err error
		if s.state, err = metrics.RegisterOrReuse(s.registerer, s.state); err != nil {
			return nil, fmt.Errorf("redisstore: %w", err)
		}
		if s.ackFailures, err = metrics.RegisterOrReuse(s.registerer, s.ackFailures); err != nil {
			return nil, fmt.Errorf("redisstore: %w", err)
		}
	}
	return s, nil
}

// Client returns the client the store was built with.
func (s *Store) Client() redis.UniversalClient { return s.client }

func (s *Store) redisKey(k idempotency.Key) string {
	b := make([]byte, len(s.prefix)+2*len(k))
	copy(b, s.prefix)
	hex.Encode(b[len(s.prefix):], k[:])
	return string(b)
}

func millis(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

// Claim implements idempotency.Store with SET NX PX GET (and WAIT with
// WithReplicaAcks).
func (s *Store) Claim(ctx context.Context, key idempotency.Key, claim idempotency.Record, lease time.Duration) (idempotency.Record, bool, error) {
	claim.State = idempotency.StateInFlight
	value := appendRecord(make([]byte, 0, inFlightLen), &claim)
	if s.claimTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.claimTimeout)
		defer cancel()
	}
	rkey := s.redisKey(key)
	args := []any{"set", rkey, value, "px", millis(lease), "nx", "get"}
	var (
		old string
		err error
	)
	if s.acks > 0 {
		old, err = s.acked(ctx, rkey, args)
	} else {
		old, err = s.client.Do(ctx, args...).Text()
	}
	redishealth.RefreshOnError(s.client, err)
	switch {
	case errors.Is(err, redis.Nil):
		return idempotency.Record{}, true, nil
	case err != nil:
		return idempotency.Record{}, false, fmt.Errorf("claim idempotency key in redis: %w", err)
	}
	rec, err := decodeRecord([]byte(old))
	if err != nil {
		return idempotency.Record{}, false, fmt.Errorf("read idempotency record %s: %w", rkey, err)
	}
	if rec.State == idempotency.StateInFlight && rec.Owner == claim.Owner {
		// This claim, sent again by go-redis after its first reply was
		// lost (a timeout, a dropped connection): the key is ours.
		return idempotency.Record{}, true, nil
	}
	return rec, false, nil
}

// acked runs args on the primary of key followed by WAIT on the same
// connection, and returns the reply of args (redis.Nil for a nil reply) or
// ErrReplicaAcks.
func (s *Store) acked(ctx context.Context, key string, args []any) (string, error) {
	node, err := s.primaryFor(ctx, key)
	if err != nil {
		return "", err
	}
	pipe := node.Pipeline()
	cmd := pipe.Do(ctx, args...)
	wait := pipe.Do(ctx, "wait", s.acks, millis(s.ackTimeout))
	_, _ = pipe.Exec(ctx)
	if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
		redishealth.RefreshOnError(s.client, err)
		return "", err
	}
	n, err := wait.Int()
	if err != nil {
		redishealth.RefreshOnError(s.client, err)
		return "", fmt.Errorf("wait for redis replicas: %w", err)
	}
	if n < s.acks {
		s.ackFailures.Inc()
		return "", fmt.Errorf("%w: %d of %d within %v", ErrReplicaAcks, n, s.acks, s.ackTimeout)
	}
	if cmd.Val() == nil {
		return "", redis.Nil
	}
	return fmt.Sprint(cmd.Val()), nil
}

// primaryFor returns the client of the primary that serves key: the
// client itself for one Redis, the node's client on a Redis Cluster (WAIT
// must follow the write on the same connection, which a cluster pipeline
// cannot promise for a command without a key).
func (s *Store) primaryFor(ctx context.Context, key string) (redis.Cmdable, error) {
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		node, err := c.MasterForKey(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("find the redis cluster primary of %s: %w", key, err)
		}
		return node, nil
	case *redis.Client:
		return c, nil
	default:
		return nil, fmt.Errorf("redisstore: WithReplicaAcks does not support a %T client", s.client)
	}
}

// Finish implements idempotency.Store with a compare-owner script (and WAIT
// with WithReplicaAcks).
func (s *Store) Finish(ctx context.Context, key idempotency.Key, owner idempotency.Owner, result idempotency.Record, ttl time.Duration) error {
	result.State = idempotency.StateFinished
	result.Owner = owner
	value := appendRecord(make([]byte, 0, bodyOffset+8+len(result.ResponseType)+len(result.Payload)), &result)
	rkey := s.redisKey(key)
	var (
		n   int64
		err error
	)
	if s.acks > 0 {
		var reply string
		reply, err = s.acked(ctx, rkey, []any{"eval", finishSource, 1, rkey, claimPrefix(owner), value, millis(ttl)})
		if reply == "1" {
			n = 1
		}
	} else {
		n, err = finishScript.Run(ctx, s.client, []string{rkey}, claimPrefix(owner), value, millis(ttl)).Int64()
	}
	if err != nil {
		redishealth.RefreshOnError(s.client, err)
		return fmt.Errorf("store idempotent result in redis: %w", err)
	}
	if n != 1 {
		return idempotency.ErrNotOwner
	}
	return nil
}

// Release implements idempotency.Store with a compare-owner script. A lost
// release (a failover before it replicates) brings the claim back until its
// lease ends, which delays retries but never runs a handler twice, so it
// does not wait for replicas.
func (s *Store) Release(ctx context.Context, key idempotency.Key, owner idempotency.Owner) error {
	n, err := releaseScript.Run(ctx, s.client, []string{s.redisKey(key)}, claimPrefix(owner)).Int()
	if err != nil {
		redishealth.RefreshOnError(s.client, err)
		return fmt.Errorf("release idempotency claim in redis: %w", err)
	}
	if n != 1 {
		return idempotency.ErrNotOwner
	}
	return nil
}

// Ready is a readiness check (health.CheckFunc). It loads the Finish and
// Release scripts on every primary, so that the first call after start-up
// costs no extra round trip, and probes the deployment: it fails, naming
// the node, when some keys cannot be served (a Redis that does not answer,
// a cluster primary down and not yet replaced), and passes when the store
// is only degraded (a replica or a failed-over former primary down), which
// the govern_idempotency_store_state gauge reports. Failing readiness for
// a degraded cluster would take every replica of the fleet out of rotation
// at once while the store still works.
func (s *Store) Ready(ctx context.Context) error {
	rep := redishealth.Probe(ctx, s.client, s.acks)
	if rep.State != redishealth.Unavailable {
		for _, script := range []*redis.Script{finishScript, releaseScript} {
			if err := script.Load(ctx, s.client).Err(); err != nil {
				rep = redishealth.Report{State: redishealth.Unavailable, Problems: []string{fmt.Sprintf("load idempotency scripts: %v", err)}}
				break
			}
		}
	}
	redishealth.SetState(s.state, rep.State)
	if err := rep.Err(); err != nil {
		return fmt.Errorf("idempotency store: %w", err)
	}
	return nil
}
