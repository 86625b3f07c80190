package redislimit_test

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/ratelimit"
	"github.com/govkit/govern/runtime/ratelimit/redislimit"
)

func Example() {
	// One address is a Redis; several are the seed nodes of a Redis
	// Cluster. ContextTimeoutEnabled lets the limiter's store timeout bound
	// each round trip.
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{"127.0.0.1:6379"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	store, err := redislimit.New(client)
	if err != nil {
		panic(err)
	}

	// Every replica built like this shares one budget of 100 calls/s.
	l := ratelimit.New("/shop.v1.Orders/List", policy.RateLimit{RPS: 100, Scope: policy.ScopeDistributed},
		ratelimit.WithStore(store),
		ratelimit.WithKeyPrefix(fmt.Sprintf("example:%d:", time.Now().UnixNano())))
	fmt.Println(l.Distributed())
	// Output: true
}
