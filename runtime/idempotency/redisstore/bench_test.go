package redisstore_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/govkit/govern/internal/redistest"
	"github.com/govkit/govern/internal/tooltest"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/idempotency/redisstore"
)

// BenchmarkClaimFinish times one claim and one finish of a new key (the
// two round trips of a first call), in the same run, on two like-for-like
// pairs started alike (internal/redistest): a single Redis and a cluster of
// three primaries without replicas (what the cluster itself adds: routing,
// slot checks, three processes), and a single Redis with one replica and
// the 3+3 cluster (the same replication work per write); then on the
// cluster with one replica acknowledgement, beside a plain PING to a
// primary. Run with GOVERN_REDIS_CPUS (docs/redis-cluster.md) to keep the
// Redis processes off the benchmark's core.
func BenchmarkClaimFinish(b *testing.B) {
	unreplicated, err := redistest.StartClusterWithoutReplicas()
	if err != nil {
		tooltest.SkipOrFail(b, "Redis Cluster without replicas could not start: %v", err)
	}
	b.Cleanup(unreplicated.Stop)
	clusterClient := cluster.Get(b).Client(b)
	prefix := fmt.Sprintf("govern-bench:%d:", time.Now().UnixNano())
	stores := []struct {
		name   string
		client redis.UniversalClient
		opts   []redisstore.Option
	}{
		{"store=single", redistest.StartRedis(b, 0), nil},
		{"store=cluster-no-replicas", unreplicated.Client(b), nil},
		{"store=single-with-replica", redistest.StartRedis(b, 1), nil},
		{"store=cluster", clusterClient, nil},
		{"store=cluster-with-acks", clusterClient, []redisstore.Option{redisstore.WithReplicaAcks(1, time.Second)}},
	}
	ctx := context.Background()
	for _, s := range stores {
		store, err := redisstore.New(s.client, append([]redisstore.Option{redisstore.WithKeyPrefix(prefix)}, s.opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		if err := store.Ready(ctx); err != nil {
			b.Fatal(err)
		}
		b.Run(s.name, func(b *testing.B) {
			var n uint64
			owner := idempotency.Owner{1}
			result := idempotency.Record{ResponseType: "a.B", Payload: make([]byte, 64)}
			for b.Loop() {
				n++
				var k idempotency.Key
				binary.BigEndian.PutUint64(k[:], n)
				k[8] = byte(len(s.name))
				copy(k[9:], time.Now().String())
				if _, claimed, err := store.Claim(ctx, k, idempotency.Record{Owner: owner, Deadline: time.Now().Add(time.Second)}, time.Minute); err != nil || !claimed {
					b.Fatalf("claim: %v %v", claimed, err)
				}
				if err := store.Finish(ctx, k, owner, result, time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("store=cluster-ping", func(b *testing.B) {
		node, err := clusterClient.MasterForKey(ctx, prefix)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := node.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
