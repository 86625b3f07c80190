package redislimit_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
	"github.com/govkit/govern/internal/redistest"
	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/ratelimit"
	"github.com/govkit/govern/runtime/ratelimit/redislimit"
)

func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m, &cluster, 5*time.Second)) }

func uniquePrefix(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("govern-test:%s:%d:", t.Name(), time.Now().UnixNano())
}

func assertRateLimited(t *testing.T, err error) {
	t.Helper()
	if status.Code(err) != codes.ResourceExhausted || !errinfo.Is(err, errinfo.RateLimited) {
		t.Fatalf("got %v, want RESOURCE_EXHAUSTED with reason RATE_LIMITED", err)
	}
	if errinfo.RetryAfter(err) <= 0 {
		t.Fatalf("rejection carries no RetryInfo delay: %v", err)
	}
}

func TestDistributedSharedAcrossReplicas(t *testing.T) {
	client := redistest.Client(t)
	prefix := uniquePrefix(t)
	p := policy.RateLimit{RPS: 0.5, Burst: 4, Scope: policy.ScopeDistributed}
	store := newStore(t, client)
	replicas := []*ratelimit.Limiter{
		ratelimit.New("/t.S/M", p, ratelimit.WithStore(store), ratelimit.WithKeyPrefix(prefix), ratelimit.WithStoreTimeout(5*time.Second)),
		ratelimit.New("/t.S/M", p, ratelimit.WithStore(store), ratelimit.WithKeyPrefix(prefix), ratelimit.WithStoreTimeout(5*time.Second)),
	}
	t.Cleanup(func() { client.Del(context.Background(), prefix+"/t.S/M") })
	var admitted, rejected atomic.Int32
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			err := replicas[i%2].Allow(context.Background())
			switch {
			case err == nil:
				admitted.Add(1)
			case errinfo.Is(err, errinfo.RateLimited):
				rejected.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	wg.Wait()
	if admitted.Load() != 4 || rejected.Load() != 6 {
		t.Fatalf("admitted %d rejected %d over two replicas, want 4 and 6 (one shared burst)", admitted.Load(), rejected.Load())
	}
	err := replicas[0].Allow(context.Background())
	assertRateLimited(t, err)
	if ra := errinfo.RetryAfter(err); ra > 2*time.Second {
		t.Errorf("RetryAfter = %v, want at most one emission interval (2s)", ra)
	}
}

func TestDistributedRefills(t *testing.T) {
	client := redistest.Client(t)
	prefix := uniquePrefix(t)
	l := ratelimit.New("/t.S/M", policy.RateLimit{RPS: 2, Burst: 1, Scope: policy.ScopeDistributed},
		ratelimit.WithStore(newStore(t, client)), ratelimit.WithKeyPrefix(prefix), ratelimit.WithStoreTimeout(5*time.Second))
	t.Cleanup(func() { client.Del(context.Background(), prefix+"/t.S/M") })
	if err := l.Allow(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := l.Allow(context.Background())
	assertRateLimited(t, err)
	time.Sleep(errinfo.RetryAfter(err) + 5*time.Millisecond)
	if err := l.Allow(context.Background()); err != nil {
		t.Fatalf("not admitted after the RetryInfo delay: %v", err)
	}
}

func TestRedisDownFallsBackToLocal(t *testing.T) {
	// Nothing listens on port 1: every Redis call fails fast.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond,
		DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })
	var fallbacks atomic.Int32
	l := ratelimit.New("/t.S/M", policy.RateLimit{RPS: 0.1, Burst: 2, Scope: policy.ScopeDistributed},
		ratelimit.WithStore(newStore(t, client)), ratelimit.WithStoreRetryAfter(0),
		ratelimit.WithFallbackHook(func(error) { fallbacks.Add(1) }))
	for i := range 2 {
		if err := l.Allow(context.Background()); err != nil {
			t.Fatalf("call %d rejected with Redis down: %v", i+1, err)
		}
	}
	assertRateLimited(t, l.Allow(context.Background()))
	if fallbacks.Load() != 3 {
		t.Fatalf("fallbacks = %d, want 3", fallbacks.Load())
	}
	if err := newStore(t, client).Ready(context.Background()); err == nil {
		t.Fatal("Ready passed with Redis down")
	}
}

// A caller that cancels while Redis is asked gets CANCELLED and does not
// switch the other callers to local counting (issue 11, item 5).
func TestCancelledCallerKeepsRedis(t *testing.T) {
	client := redistest.Client(t, func(o *redis.Options) { o.ContextTimeoutEnabled = true })
	prefix := uniquePrefix(t)
	t.Cleanup(func() { client.Del(context.Background(), prefix+"/t.S/M") })
	var fallbacks atomic.Int32
	l := ratelimit.New("/t.S/M", policy.RateLimit{RPS: 0.1, Burst: 2, Scope: policy.ScopeDistributed},
		ratelimit.WithStore(newStore(t, client)), ratelimit.WithKeyPrefix(prefix),
		ratelimit.WithStoreTimeout(5*time.Second), ratelimit.WithStoreRetryAfter(time.Hour),
		ratelimit.WithFallbackHook(func(error) { fallbacks.Add(1) }))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Allow(ctx); status.Code(err) != codes.Canceled {
		t.Fatalf("cancelled caller got %v, want CANCELLED", err)
	}
	// Had the cancelled call marked Redis down, the local bucket (burst 2)
	// would admit two more calls; Redis admits two, then rejects.
	for i := range 2 {
		if err := l.Allow(context.Background()); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	assertRateLimited(t, l.Allow(context.Background()))
	if fallbacks.Load() != 0 {
		t.Fatalf("fallbacks = %d after a cancelled caller, want 0", fallbacks.Load())
	}
	if n, err := client.Exists(context.Background(), prefix+"/t.S/M").Result(); err != nil || n != 1 {
		t.Fatalf("the limit's key is not in Redis (exists=%d, %v): the calls were counted locally", n, err)
	}
}

// Ready passes on a live Redis and fails on a dead one, and each probe
// sets govern_ratelimit_store_state on the registerer.
func TestReadyExportsState(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := newStore(t, redistest.Client(t), redislimit.WithRegisterer(reg)).Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertState(t, reg, "available")
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = down.Close() })
	// A second store on the same registerer shares the gauge.
	err := newStore(t, down, redislimit.WithRegisterer(reg)).Ready(context.Background())
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Ready with Redis down = %v, want an error naming 127.0.0.1:1", err)
	}
	assertState(t, reg, "unavailable")
}

func assertState(t *testing.T, reg *prometheus.Registry, want string) {
	t.Helper()
	expected := ""
	for _, st := range []string{"available", "degraded", "unavailable"} {
		v := 0
		if st == want {
			v = 1
		}
		expected += fmt.Sprintf("govern_ratelimit_store_state{state=%q} %d\n", st, v)
	}
	help := "# HELP govern_ratelimit_store_state Health of the Redis rate-limit store at the last readiness probe: 1 for the current state (available, degraded: a node is down but every key is served, unavailable: some keys cannot be served).\n# TYPE govern_ratelimit_store_state gauge\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(help+expected), "govern_ratelimit_store_state"); err != nil {
		t.Fatal(err)
	}
}

// cluster is the one Redis Cluster of this test binary (TestMain stops it).
var cluster redistest.SharedCluster

// Three replicas share one DISTRIBUTED limit on a Redis Cluster: the fleet
// admits the declared rate within 10%; when the primary of the limit's key
// is killed, the replicas count locally (and count the fallbacks), then go
// back to the shared limit once the replica is promoted.
func TestClusterFleetRate(t *testing.T) {
	c := cluster.Get(t)
	const rps = 100.0
	p := policy.RateLimit{RPS: rps, Burst: 10, Scope: policy.ScopeDistributed}
	prefix := uniquePrefix(t)
	var fallbacks atomic.Int64
	replicas := make([]*ratelimit.Limiter, 3)
	for i := range replicas {
		client := c.Client(t, func(o *redis.ClusterOptions) {
			o.ContextTimeoutEnabled = true
			o.MaxRetries = -1
			o.DialTimeout = 100 * time.Millisecond
		})
		replicas[i] = ratelimit.New("/t.S/M", p, ratelimit.WithStore(newStore(t, client)), ratelimit.WithKeyPrefix(prefix),
			ratelimit.WithStoreTimeout(time.Second), ratelimit.WithStoreRetryAfter(200*time.Millisecond),
			ratelimit.WithFallbackHook(func(error) { fallbacks.Add(1) }))
	}
	// offer drives every replica at twice the declared rate for d and
	// returns how many calls the fleet admitted.
	offer := func(d time.Duration) int64 {
		var admitted atomic.Int64
		var wg sync.WaitGroup
		end := time.Now().Add(d)
		for i := range replicas {
			wg.Go(func() {
				tick := time.NewTicker(3 * time.Second / time.Duration(2*rps))
				defer tick.Stop()
				for now := range tick.C {
					if now.After(end) {
						return
					}
					wg.Go(func() {
						if err := replicas[i].Allow(context.Background()); err == nil {
							admitted.Add(1)
						}
					})
				}
			})
		}
		wg.Wait()
		return admitted.Load()
	}
	// Spend the burst first, then measure the steady rate.
	offer(200 * time.Millisecond)
	const window = 3 * time.Second
	admitted := offer(window)
	got := float64(admitted) / window.Seconds()
	t.Logf("REPORT fleet of 3 admitted %.1f calls/s against a declared %v (offered %v)", got, rps, 2*rps)
	if got < 0.9*rps || got > 1.1*rps {
		t.Errorf("fleet admitted %.1f calls/s, want %v within 10%%", got, rps)
	}
	if fallbacks.Load() != 0 {
		t.Fatalf("%d fallbacks with a healthy cluster", fallbacks.Load())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	victim, err := c.PrimaryOf(ctx, prefix+"/t.S/M")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	// Calls keep being admitted (locally) while the shard has no primary.
	during := offer(2 * time.Second)
	if fallbacks.Load() == 0 || during == 0 {
		t.Fatalf("during the failover: %d fallbacks, %d admitted; want local counting", fallbacks.Load(), during)
	}
	// Once the replica is promoted the limiters return to the shared
	// limit: fallbacks stop growing.
	for {
		before := fallbacks.Load()
		offer(500 * time.Millisecond)
		if fallbacks.Load() == before {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the limiters never returned to the shared limit after the failover")
		}
	}
	t.Logf("REPORT failover: %d calls fell back to local limits, %d admitted in the 2 s after the kill", fallbacks.Load(), during)
	if err := c.Restart(ctx, victim); err != nil {
		t.Fatal(err)
	}
}

// newStore is redislimit.New for a test.
func newStore(t *testing.T, client redis.UniversalClient, opts ...redislimit.Option) *redislimit.Store {
	t.Helper()
	store, err := redislimit.New(client, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return store
}
