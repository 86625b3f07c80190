package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/govkit/govern/internal/tooltest"
)

// StartRedis starts a Redis primary with replicas replicas (redis-server
// processes on free loopback ports, no cluster, started like a Cluster's
// nodes) and returns a client of the primary; all stop at cleanup. It is
// the single-Redis peer of a Cluster in a benchmark: with no replica, of a
// cluster without replicas; with one, of a cluster doing the same
// replication work (on a small machine a replica's CPU competes with the
// benchmark as a cluster's replicas do). Without redis-server it skips the
// test, or fails it under CI.
func StartRedis(tb testing.TB, replicas int) *redis.Client {
	tb.Helper()
	fail := func(err error) {
		tb.Helper()
		tooltest.SkipOrFail(tb, "Redis for the test could not start: %v", err)
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		fail(fmt.Errorf("redis-server not found (install it with `apt-get install -y redis-server`): %w", err))
	}
	ports, err := freeClusterPorts(1 + replicas)
	if err != nil {
		fail(err)
	}
	dir := tb.TempDir()
	var nodes []*ClusterNode
	tb.Cleanup(func() {
		for _, n := range nodes {
			if n.Alive() {
				_ = n.cmd.Process.Kill()
				<-n.done
			}
		}
	})
	for i, port := range ports {
		n := &ClusterNode{Addr: "127.0.0.1:" + strconv.Itoa(port), port: port, dir: filepath.Join(dir, strconv.Itoa(i))}
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		var extra []string
		if i > 0 {
			extra = []string{"--replicaof", "127.0.0.1", strconv.Itoa(ports[0])}
		}
		if err := n.startWith(extra...); err != nil {
			fail(err)
		}
		nodes = append(nodes, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := redis.NewClient(&redis.Options{Addr: nodes[0].Addr})
	tb.Cleanup(func() { _ = client.Close() })
	// Online, and every replica past its first REPLCONF ACK: a write, then
	// its acknowledgement (WAIT on the same connection).
	for {
		if err := client.Set(ctx, "redistest:warm", "warm", time.Minute).Err(); err == nil {
			if replicas == 0 {
				return client
			}
			if n, err := client.Wait(ctx, replicas, 100*time.Millisecond).Result(); err == nil && n == int64(replicas) {
				info, _ := client.Info(ctx, "replication").Result()
				if strings.Count(info, "state=online") == replicas {
					return client
				}
			}
		}
		if ctx.Err() != nil {
			fail(fmt.Errorf("Redis %s never answered, or its %d replicas never acknowledged it", nodes[0].Addr, replicas))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
