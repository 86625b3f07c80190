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

// StartReplicated starts a Redis primary with one replica (two
// redis-server processes on free loopback ports, no cluster) and returns a
// client of the primary; both stop at cleanup. It is the single-Redis peer
// of a Cluster that does the same replication work: on a small machine the
// replica's CPU competes with the benchmark as a cluster's replicas do, so
// comparing a Cluster with it measures what the cluster itself adds.
// Without redis-server it skips the test, or fails it under CI.
func StartReplicated(tb testing.TB) *redis.Client {
	tb.Helper()
	fail := func(err error) {
		tb.Helper()
		tooltest.SkipOrFail(tb, "Redis primary and replica for the test could not start: %v", err)
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		fail(fmt.Errorf("redis-server not found (install it with `apt-get install -y redis-server`): %w", err))
	}
	ports, err := freeClusterPorts(2)
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
		if i == 1 {
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
	// Online, and past the first REPLCONF ACK: a write, then its
	// acknowledgement (WAIT on the same connection).
	for {
		if err := client.Set(ctx, "redistest:warm", "warm", time.Minute).Err(); err == nil {
			if n, err := client.Wait(ctx, 1, 100*time.Millisecond).Result(); err == nil && n == 1 {
				info, _ := client.Info(ctx, "replication").Result()
				if strings.Contains(info, "state=online") {
					return client
				}
			}
		}
		if ctx.Err() != nil {
			fail(fmt.Errorf("replica %s never acknowledged primary %s", nodes[1].Addr, nodes[0].Addr))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
