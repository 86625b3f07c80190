package redislimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/govkit/govern/internal/redishealth"
	"github.com/govkit/govern/runtime/metrics"
	"github.com/govkit/govern/runtime/ratelimit"
)

// gcraScript is the distributed admission: GCRA over one key holding the
// theoretical arrival time (TAT) in microseconds of the Redis server clock.
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

// Store is the ratelimit.Store on Redis (>= 7) or a Redis Cluster.
type Store struct {
	client redis.UniversalClient
	state  *prometheus.GaugeVec
}

var _ ratelimit.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*options)

type options struct {
	registerer prometheus.Registerer
}

// WithRegisterer exports the store's health at each readiness probe as
// govern_ratelimit_store_state{state} (available, degraded, unavailable)
// on reg, the gauge the idempotency store exports as
// govern_idempotency_store_state. Without it the gauge is kept but not
// exported.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(o *options) { o.registerer = reg }
}

// New returns the Store over client: a *redis.Client, a
// *redis.ClusterClient, or redis.NewUniversalClient's choice for a list of
// addresses. Configure the client's timeouts with ContextTimeoutEnabled so
// the limiter's store timeout bounds each round trip. It fails only when
// the registerer holds a different metric of the gauge's name.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{client: client, state: redishealth.NewStateGauge("govern_ratelimit_store_state", "the Redis rate-limit store")}
	if o.registerer != nil {
		var err error
		if s.state, err = metrics.RegisterOrReuse(o.registerer, s.state); err != nil {
			return nil, fmt.Errorf("redislimit: %w", err)
		}
	}
	return s, nil
}

// Admit implements ratelimit.Store with one EVALSHA of the GCRA script.
func (s *Store) Admit(ctx context.Context, key string, rps float64, burst int) (bool, time.Duration, error) {
	if rps <= 0 {
		return true, 0, nil
	}
	emissionUS := strconv.FormatFloat(1e6/rps, 'f', 3, 64)
	res, err := gcraScript.Run(ctx, s.client, []string{key}, emissionUS, burst).Int64Slice()
	if err != nil {
		redishealth.RefreshOnError(s.client, err)
		return false, 0, fmt.Errorf("run the rate limit script in redis: %w", err)
	}
	if len(res) != 2 {
		return false, 0, errors.New("unexpected reply from the rate limit script; is the key written by something else? give the limiter its own key prefix")
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}

// Ready is a readiness check (health.CheckFunc): it loads the script on
// every primary, so the first call after start-up costs no extra round
// trip, and on a Redis Cluster fails naming the node when a slot has no
// reachable primary (see redishealth). A cluster that serves every slot
// with a node down is degraded, not failing: distributed limits still
// work, and during a failover they count locally on their own. The state
// goes to govern_ratelimit_store_state.
func (s *Store) Ready(ctx context.Context) error {
	rep := redishealth.Probe(ctx, s.client, 0)
	if rep.State != redishealth.Unavailable {
		if err := gcraScript.Load(ctx, s.client).Err(); err != nil {
			rep = redishealth.Report{State: redishealth.Unavailable, Problems: []string{fmt.Sprintf("load the rate limit script: %v", err)}}
		}
	}
	redishealth.SetState(s.state, rep.State)
	if err := rep.Err(); err != nil {
		return fmt.Errorf("rate-limit store: %w", err)
	}
	return nil
}
