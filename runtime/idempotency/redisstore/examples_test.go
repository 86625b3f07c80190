package redisstore_test

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/idempotency/redisstore"
	"github.com/govkit/govern/runtime/policy"
)

var orderPolicy = policy.Table{
	"/order.v1.OrderService/CreateOrder": {
		FullMethod:  "/order.v1.OrderService/CreateOrder",
		Timeout:     800 * time.Millisecond,
		Idempotency: &policy.Idempotency{Required: true, TTL: 24 * time.Hour, Lease: 10 * time.Second},
	},
}

// A fleet shares one Redis, or a Redis Cluster given by its seed nodes.
func ExampleNew() {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"},
		ContextTimeoutEnabled: true, // the claim timeout bounds Redis reads
	})
	defer rdb.Close()
	store, err := redisstore.New(rdb,
		redisstore.WithKeyPrefix("orders:prod:idem:"),
		// Run a handler only once a replica holds its claim, so the
		// failover of a primary cannot run it twice.
		redisstore.WithReplicaAcks(1, 100*time.Millisecond))
	if err != nil {
		panic(err)
	}
	srv := idempotency.NewServer(orderPolicy, store, idempotency.WithScope(func(ctx context.Context) string {
		return "" // e.g. the authenticated tenant
	}))
	server := grpc.NewServer(grpc.ChainUnaryInterceptor(srv.UnaryServerInterceptor()))
	defer server.Stop()
}
