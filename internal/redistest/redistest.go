// Package redistest gives tests the project's one rule for the test Redis:
// connect to GOVERN_REDIS_ADDR (default 127.0.0.1:6379); when it cannot be
// reached, skip with a message that says how to run the test, except under
// CI (the CI environment variable is set), where a missing Redis is a
// failure, so a broken CI machine can never pass by skipping.
//
// It also starts Redis of its own for tests and benchmarks that need a
// shape the shared one is not: a real Redis Cluster (StartCluster,
// SharedCluster), a cluster without replicas, a primary with replicas
// (StartRedis). Those redis-server processes run on the CPUs named by
// GOVERN_REDIS_CPUS when it is set (see CPUsEnv).
package redistest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultAddr is the test Redis when GOVERN_REDIS_ADDR is unset.
const DefaultAddr = "127.0.0.1:6379"

// Addr returns the configured test Redis address without checking it.
func Addr() string {
	if a := os.Getenv("GOVERN_REDIS_ADDR"); a != "" {
		return a
	}
	return DefaultAddr
}

// Client returns a client of the test Redis, closed at cleanup. opts adjust
// the client options before it connects. It skips the test (fails it under
// CI) when Redis does not answer a PING within two seconds.
func Client(tb testing.TB, opts ...func(*redis.Options)) *redis.Client {
	tb.Helper()
	o := &redis.Options{Addr: Addr()}
	for _, f := range opts {
		f(o)
	}
	c := redis.NewClient(o)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		Unreachable(tb, o.Addr, err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// RequireAddr returns the test Redis address after checking that it answers,
// for tests that hand the address to a process or component of their own.
func RequireAddr(tb testing.TB) string {
	tb.Helper()
	return Client(tb).Options().Addr
}

// Unreachable ends the test for a Redis at addr that did not answer: a skip,
// or a failure under CI.
func Unreachable(tb testing.TB, addr string, err error) {
	tb.Helper()
	msg := "Redis at " + addr + " (GOVERN_REDIS_ADDR) is not reachable: " + err.Error()
	if os.Getenv("CI") != "" {
		tb.Fatal(msg + "; CI requires it")
		return
	}
	tb.Skip(msg + "; start Redis >= 7 or set GOVERN_REDIS_ADDR")
}
