// Package redisstores opens the state a governed service shares with its
// replicas through one Redis or Redis Cluster: idempotency records
// (runtime/idempotency/redisstore) and distributed rate limits
// (runtime/ratelimit/redislimit), over one client, with the readiness
// check the pair needs. A scaffolded service (proto or OpenAPI) and
// examples/order wire their stores with it, so the choices below are
// made once:
//
//   - the client has ContextTimeoutEnabled, so call deadlines and the
//     idempotency claim timeout bound Redis reads (a hanging Redis is a
//     clear 503, not a hung call);
//   - readiness follows the idempotency store: a replica that cannot reach
//     it rejects every keyed call (fail closed), so it must not get
//     traffic; the rate-limit store's probe only sets its state gauge,
//     because its limiters count locally while Redis is away;
//   - both stores export their state gauge on the same registerer.
package redisstores

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/govkit/govern/runtime/idempotency/redisstore"
	"github.com/govkit/govern/runtime/ratelimit/redislimit"
)

// Config says where the shared state lives and how durable a claim is.
type Config struct {
	// Addrs: one address is a Redis; several are the seed nodes of a
	// Redis Cluster.
	Addrs []string
	// KeyPrefix prefixes the idempotency records' keys (default
	// redisstore.DefaultKeyPrefix); give each service its own when
	// services share a Redis.
	KeyPrefix string
	// ReplicaAcks replicas must hold a claim before the handler runs
	// (Redis WAIT), for at most ReplicaAckTimeout; 0 answers after the
	// primary alone. See docs/redis-cluster.md for what each guarantees.
	ReplicaAcks       int
	ReplicaAckTimeout time.Duration
	// Registerer gets govern_idempotency_store_state,
	// govern_ratelimit_store_state and the replica-ack failures counter;
	// nil exports nothing.
	Registerer prometheus.Registerer
}

// Stores is the open pair. Close it when the service stops.
type Stores struct {
	Client      redis.UniversalClient
	Idempotency *redisstore.Store
	RateLimit   *redislimit.Store
}

// Open connects lazily (go-redis dials on first use; Ready tells whether
// Redis answers) and builds both stores. It fails on a config that cannot
// work, naming the fix.
func Open(cfg Config) (*Stores, error) {
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("redisstores: no Redis address; give one (a Redis) or several (a Redis Cluster's seed nodes)")
	}
	for _, a := range cfg.Addrs {
		if a == "" {
			return nil, fmt.Errorf("redisstores: an empty address in %q; separate addresses with commas and no empty entries", cfg.Addrs)
		}
	}
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: cfg.Addrs, ContextTimeoutEnabled: true})
	storeOpts := []redisstore.Option{}
	if cfg.KeyPrefix != "" {
		storeOpts = append(storeOpts, redisstore.WithKeyPrefix(cfg.KeyPrefix))
	}
	if cfg.ReplicaAcks > 0 {
		storeOpts = append(storeOpts, redisstore.WithReplicaAcks(cfg.ReplicaAcks, cfg.ReplicaAckTimeout))
	}
	var limitOpts []redislimit.Option
	if cfg.Registerer != nil {
		storeOpts = append(storeOpts, redisstore.WithRegisterer(cfg.Registerer))
		limitOpts = append(limitOpts, redislimit.WithRegisterer(cfg.Registerer))
	}
	idem, err := redisstore.New(client, storeOpts...)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("idempotency store: %w", err)
	}
	limits, err := redislimit.New(client, limitOpts...)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("rate-limit store: %w", err)
	}
	return &Stores{Client: client, Idempotency: idem, RateLimit: limits}, nil
}

// Ready is the readiness check of the pair (health.CheckFunc; register it
// with health.AsDatabase): it probes both stores, setting both state
// gauges, and fails when the idempotency store cannot serve, naming the
// failing node of a cluster.
func (s *Stores) Ready(ctx context.Context) error {
	_ = s.RateLimit.Ready(ctx) // sets govern_ratelimit_store_state; limits fall back locally
	return s.Idempotency.Ready(ctx)
}

// Close closes the client.
func (s *Stores) Close() error { return s.Client.Close() }
