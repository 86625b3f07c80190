package redistest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/govkit/govern/internal/tooltest"
)

var shared SharedCluster

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Stop()
	os.Exit(code)
}

func TestKeySlotMatchesRedis(t *testing.T) {
	c := shared.Get(t)
	client := c.Client(t)
	for _, key := range []string{"a", "govern:idem:00ff", "{user1000}.following", "foo{}{bar}", "{{bar}}", "123456789"} {
		want, err := client.ClusterKeySlot(context.Background(), key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := keySlot(key); int64(got) != want {
			t.Errorf("keySlot(%q) = %d, CLUSTER KEYSLOT says %d", key, got, want)
		}
	}
}

// The cluster serves keys of every slot, and a killed primary is replaced
// by its replica, with every write the replica acknowledged, without a
// restart; Restart brings the node back as a
// replica.
func TestClusterFailsOverAndHeals(t *testing.T) {
	c := shared.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := c.Client(t, func(o *redis.ClusterOptions) { o.MaxRedirects = 8 })
	for i := range 100 {
		if err := client.Set(ctx, fmt.Sprint("k", i), i, time.Minute).Err(); err != nil {
			t.Fatalf("set k%d: %v", i, err)
		}
	}
	// Replication is asynchronous: only what the replica acknowledged
	// survives the kill.
	if err := c.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	victim, err := c.PrimaryOf(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	// The replica takes over after cluster-node-timeout; go-redis follows.
	for {
		v, err := client.Get(ctx, "k1").Int()
		if err == nil && v == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("k1 never readable after the failover: %v\n%s", err, c.Describe(context.Background()))
		}
		client.ReloadState(ctx) // go-redis refreshes its slot map on MOVED, not on a dead primary
		time.Sleep(100 * time.Millisecond)
	}
	promoted, err := c.PrimaryOf(ctx, "k1")
	if err != nil || promoted == victim {
		t.Fatalf("primary of k1 after the failover: %v %v, want another node than %s", promoted, err, victim.Addr)
	}
	if err := c.Restart(ctx, victim); err != nil {
		t.Fatal(err)
	}
}

// A cluster without replicas forms with three primaries serving every
// slot, and writes on each need no replica.
func TestClusterWithoutReplicas(t *testing.T) {
	c, err := StartClusterWithoutReplicas()
	if err != nil {
		tooltest.SkipOrFail(t, "Redis Cluster could not start: %v", err)
	}
	defer c.Stop()
	if got := len(c.Addrs()); got != 3 {
		t.Fatalf("%d nodes, want 3 primaries", got)
	}
	client := c.Client(t)
	for i := range 30 {
		if err := client.Set(context.Background(), fmt.Sprintf("k%d", i), "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitReplicated(context.Background()); err != nil {
		t.Fatal(err)
	}
}
