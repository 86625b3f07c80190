package redisstores_test

import (
	"log"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/health"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/redisstores"
)

// A service's stores on a Redis Cluster, its readiness following them, and
// the governor using both (docs/redis-cluster.md).
func ExampleOpen() {
	reg := prometheus.NewRegistry()
	checks := health.New()
	stores, err := redisstores.Open(redisstores.Config{
		Addrs:      []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"},
		Registerer: reg,
		// ReplicaAcks: 1, ReplicaAckTimeout: 100 * time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer stores.Close()
	if err := checks.Register("redis", stores.Ready, health.AsDatabase()); err != nil {
		log.Fatal(err)
	}
	gov, err := governance.New(policy.Table{},
		governance.WithRegisterer(reg),
		governance.WithIdempotencyStore(stores.Idempotency),
		governance.WithRateLimitStore(stores.RateLimit),
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = gov
}
