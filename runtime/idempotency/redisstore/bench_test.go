package redisstore_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/govkit/govern/internal/redistest"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/idempotency/redisstore"
)

// BenchmarkClaimFinish times one claim and one finish of a new key (the
// two round trips of a first call) on a single Redis, on a single Redis
// with one replica (the replication work a cluster's primaries do too) and
// on the Redis Cluster, in the same run, and on the cluster with one
// replica acknowledgement beside a plain PING to a primary.
func BenchmarkClaimFinish(b *testing.B) {
	c := cluster.Get(b)
	single := redistest.Client(b)
	replicated := redistest.StartReplicated(b)
	clusterClient := c.Client(b)
	prefix := fmt.Sprintf("govern-bench:%d:", time.Now().UnixNano())
	stores := []struct {
		name   string
		client redis.UniversalClient
		opts   []redisstore.Option
	}{
		{"single", single, nil},
		{"single+replica", replicated, nil},
		{"cluster", clusterClient, nil},
		{"cluster-acks=1", clusterClient, []redisstore.Option{redisstore.WithReplicaAcks(1, time.Second)}},
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
	b.Run("cluster-ping", func(b *testing.B) {
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
