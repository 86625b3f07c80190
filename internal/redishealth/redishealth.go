// Package redishealth tells the Redis-backed stores (idempotency, rate
// limits) whether their Redis or Redis Cluster can serve them, for
// readiness checks and metrics: available, degraded (every slot is served
// but a node is down, so a further failure would cost availability), or
// unavailable (some keys cannot be served), naming the nodes at fault.
package redishealth

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// State is how well a Redis deployment can serve a store.
type State int

const (
	// Available: every node answers.
	Available State = iota
	// Degraded: every slot has a primary that answers, but a node is
	// failing (a replica, or a former primary after a failover).
	Degraded
	// Unavailable: some keys cannot be read or written (a primary is
	// down and not yet replaced, or the only Redis does not answer).
	Unavailable
)

// String returns the state's metric label value.
func (s State) String() string {
	switch s {
	case Available:
		return "available"
	case Degraded:
		return "degraded"
	default:
		return "unavailable"
	}
}

// States lists every state, in the order of their values.
var States = [...]State{Available, Degraded, Unavailable}

// NewStateGauge returns the gauge a store exports its State with: one
// series per state, 1 for the state of the last probe and 0 for the
// others, so an alert can match `{state="unavailable"} == 1` and a
// dashboard can show every state's history. name is the store's metric
// (govern_idempotency_store_state, govern_ratelimit_store_state).
func NewStateGauge(name, what string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: name,
		Help: "Health of " + what + " at the last readiness probe: 1 for the current state (available, degraded: a node is down but every key is served, unavailable: some keys cannot be served).",
	}, []string{"state"})
}

// SetState records s on a gauge from NewStateGauge.
func SetState(gauge *prometheus.GaugeVec, s State) {
	for _, st := range States {
		v := 0.0
		if st == s {
			v = 1
		}
		gauge.WithLabelValues(st.String()).Set(v)
	}
}

// Report is the outcome of one Probe.
type Report struct {
	State State
	// Problems name each failing node and what is wrong, sorted.
	Problems []string
}

// Err returns nil unless the state is Unavailable; then an error naming
// every failing node, for /readyz?verbose.
func (r Report) Err() error {
	if r.State != Unavailable {
		return nil
	}
	if len(r.Problems) == 0 {
		return errors.New("redis is unavailable")
	}
	return errors.New("redis is unavailable: " + strings.Join(r.Problems, "; "))
}

// Probe asks client how well it can serve keys: a PING for one Redis; for a
// Redis Cluster, a PING to every primary and the cluster's own view of its
// shards (CLUSTER SHARDS), so that a killed primary is reported from the
// moment it stops answering until its replica is promoted, and a failed
// replica or former primary after that.
//
// minReplicas is how many replicas each primary needs online for the store
// to work (its WithReplicaAcks count; 0 for none): a shard with fewer
// cannot acknowledge a claim, so its keys are unavailable.
func Probe(ctx context.Context, client redis.UniversalClient, minReplicas int) Report {
	cluster, ok := client.(*redis.ClusterClient)
	if !ok {
		if err := client.Ping(ctx).Err(); err != nil {
			return Report{State: Unavailable, Problems: []string{fmt.Sprintf("redis does not answer: %v", err)}}
		}
		return Report{State: Available}
	}
	return probeCluster(ctx, cluster, minReplicas)
}

func probeCluster(ctx context.Context, cluster *redis.ClusterClient, minReplicas int) Report {
	var (
		mu  sync.Mutex
		rep Report
	)
	add := func(state State, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		rep.State = max(rep.State, state)
		rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
	}
	err := cluster.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		if err := node.Ping(ctx).Err(); err != nil {
			add(Unavailable, "primary %s does not answer: %v", node.Options().Addr, err)
		}
		return nil
	})
	if err != nil {
		add(Unavailable, "cluster state unknown: %v", err)
	}
	shards, err := cluster.ClusterShards(ctx).Result()
	if err != nil {
		add(Unavailable, "CLUSTER SHARDS failed: %v", err)
		return sorted(rep)
	}
	for _, shard := range shards {
		slots := slotRanges(shard.Slots)
		primaryOnline, primary, replicas := false, "", 0
		for _, n := range shard.Nodes {
			addr := fmt.Sprintf("%s:%d", n.IP, n.Port)
			online := n.Health == "online"
			switch {
			case n.Role == "master" && online:
				primaryOnline, primary = true, addr
			case online:
				replicas++
			case n.Role == "master" && len(shard.Slots) > 0:
				add(Unavailable, "primary %s of slots %s is %s", addr, slots, n.Health)
			case n.Health == "loading":
				// Redis says "loading" for a replica whose replication
				// offset is still 0: loading its data, or new and not yet
				// sent anything (the primary's replication ping, every
				// 10 s, or the first write moves it). Until then it is
				// no safe failover target and not counted as an ack.
				add(Degraded, "replica %s of slots %s is loading (no replication offset yet)", addr, slots)
			case !online:
				add(Degraded, "node %s (%s, slots %s) is %s", addr, n.Role, slots, n.Health)
			}
		}
		if !primaryOnline && len(shard.Slots) > 0 {
			add(Unavailable, "slots %s have no primary online", slots)
		}
		if primaryOnline && len(shard.Slots) > 0 && replicas < minReplicas {
			add(Unavailable, "primary %s of slots %s has %d replicas online, %d must acknowledge each claim", primary, slots, replicas, minReplicas)
		}
	}
	return sorted(rep)
}

func sorted(r Report) Report {
	sort.Strings(r.Problems)
	return r
}

func slotRanges(ranges []redis.SlotRange) string {
	if len(ranges) == 0 {
		return "none"
	}
	parts := make([]string, len(ranges))
	for i, r := range ranges {
		parts[i] = fmt.Sprintf("%d-%d", r.Start, r.End)
	}
	return strings.Join(parts, ",")
}

// RefreshOnError asks a Redis Cluster client to reload its slot map after
// err, in the background and at most every 200 ms (go-redis coalesces).
// go-redis v9 reloads on MOVED and ASK and otherwise only every
// ClusterStateReloadInterval (60 s by default), so after a primary dies it
// would keep dialling the dead node for up to a minute although its replica
// was promoted within seconds. Stores call this on every failed command so
// they recover as soon as the cluster has.
func RefreshOnError(client redis.UniversalClient, err error) {
	if err == nil || errors.Is(err, redis.Nil) {
		return
	}
	if cluster, ok := client.(*redis.ClusterClient); ok {
		cluster.ReloadState(context.Background())
	}
}
