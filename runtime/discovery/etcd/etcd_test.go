package etcd_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/resolver"

	"github.com/govkit/govern/internal/etcdtest"
	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
	"github.com/govkit/govern/runtime/discovery"
	"github.com/govkit/govern/runtime/discovery/discoverytest"
	"github.com/govkit/govern/runtime/discovery/etcd"
)

// etcdAddr is the client address of the one etcd server embedded in this
// test binary (starting one per test would cost a second each).
var etcdAddr string

func TestMain(m *testing.M) {
	server, err := etcdtest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	etcdAddr = server.Addr()
	code := m.Run()
	server.Stop()
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreCurrent()); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// newClient connects to addr, reconnecting fast after a partition.
func newClient(t *testing.T, addr string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{addr},
		DialTimeout: 2 * time.Second,
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, MaxDelay: 250 * time.Millisecond},
		})},
		Logger: nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newRegistry(t *testing.T, c *clientv3.Client, prefix string, reg prometheus.Registerer) *etcd.Registry {
	t.Helper()
	r, err := etcd.NewRegistry(c, etcd.WithPrefix(prefix), etcd.WithTTL(2*time.Second), etcd.WithRegisterer(reg), etcd.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestResolveByWatchAndFailOver(t *testing.T) {
	near := discoverytest.Start(t, "127.0.0.2")
	far := discoverytest.Start(t, "127.0.0.3")
	r := newRegistry(t, newClient(t, etcdAddr), "/test/resolve", nil)
	ctx := t.Context()
	regNear, err := r.Register(ctx, "inventory", discovery.Endpoint{Addr: near.Addr, Region: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	regFar, err := r.Register(ctx, "inventory", discovery.Endpoint{Addr: far.Addr, Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = regFar.Deregister(context.WithoutCancel(ctx)) }()

	conn := discoverytest.Dial(t, r, "inventory", discovery.WithLocalRegion("us-west-2"), discovery.WithoutProbing(), discovery.WithLogger(quiet))
	who := func() string {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		a, err := discoverytest.Who(cctx, conn)
		if err != nil {
			return err.Error()
		}
		return a
	}
	eventually(t, "calls reach the near instance", func() bool { return who() == near.Addr })
	for range 20 {
		if a := who(); a != near.Addr {
			t.Fatalf("a call went to %s with the local instance registered; want %s", a, near.Addr)
		}
	}
	if err := regNear.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "calls fail over to the far instance once the near one deregisters", func() bool { return who() == far.Addr })
}

// TestLeaseLapseHeals cuts the registering instance off etcd for 1.5 TTL, so
// its lease lapses and etcd deletes its key while the instance lives on,
// and shows the instance registers again on its own when the path returns,
// watched by a client with its own connection.
func TestLeaseLapseHeals(t *testing.T) {
	proxy, err := discoverytest.NewProxy("127.0.0.1", etcdAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	metrics := prometheus.NewRegistry()
	const prefix = "/test/lapse"
	r := newRegistry(t, newClient(t, proxy.Addr), prefix, metrics)
	watcher := newClient(t, etcdAddr)
	ctx := t.Context()
	ep := discovery.Endpoint{Addr: "127.0.0.2:7000", Region: "us-west-2"}
	key := r.Key("inventory", ep.Addr)

	// Follow the key from the outside, timing how long it is absent.
	var mu sync.Mutex
	var gone time.Time
	var vanished []time.Duration
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	wch := watcher.Watch(wctx, key)
	var wg sync.WaitGroup
	wg.Go(func() {
		for resp := range wch {
			for _, ev := range resp.Events {
				mu.Lock()
				if ev.Type == clientv3.EventTypeDelete {
					gone = time.Now()
				} else if !gone.IsZero() {
					vanished = append(vanished, time.Since(gone))
					gone = time.Time{}
				}
				mu.Unlock()
			}
		}
	})
	defer wg.Wait()
	defer wcancel()

	reg, err := r.Register(ctx, "inventory", ep)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Deregister(context.WithoutCancel(ctx)) }()
	first, err := watcher.Get(ctx, key)
	if err != nil || len(first.Kvs) != 1 {
		t.Fatalf("after Register, Get(%s) = %v, %v; want the key", key, first, err)
	}

	const ttl = 2 * time.Second
	proxy.Cut()
	time.Sleep(ttl * 3 / 2)
	proxy.Heal()
	eventually(t, "the key is back under a new lease", func() bool {
		resp, err := watcher.Get(ctx, key)
		return err == nil && len(resp.Kvs) == 1 && resp.Kvs[0].Lease != first.Kvs[0].Lease
	})
	if n := discoverytest.MetricSum(t, metrics, "govern_registration_lease_lost_total", nil); n < 1 {
		t.Errorf("govern_registration_lease_lost_total = %v after a lapse, want at least 1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(vanished) == 0 {
		t.Fatalf("the watcher never saw the key deleted and written again; the cut did not outlast the lease")
	}
	t.Logf("TTL %v, cut %v: the key was absent for %v (limit: one TTL)", ttl, ttl*3/2, vanished)
}

// TestWatchdogRestoresADeletedKey deletes the instance's key by hand while
// its lease lives on: only the watchdog can notice that.
func TestWatchdogRestoresADeletedKey(t *testing.T) {
	metrics := prometheus.NewRegistry()
	c := newClient(t, etcdAddr)
	r := newRegistry(t, c, "/test/watchdog", metrics)
	ctx := t.Context()
	ep := discovery.Endpoint{Addr: "127.0.0.2:7001", Region: "us-west-2", Colour: "canary"}
	reg, err := r.Register(ctx, "inventory", ep)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Deregister(context.WithoutCancel(ctx)) }()
	key := r.Key("inventory", ep.Addr)
	if _, err := c.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the watchdog writes the key again", func() bool {
		resp, err := c.Get(ctx, key)
		return err == nil && len(resp.Kvs) == 1
	})
	if n := discoverytest.MetricSum(t, metrics, "govern_registration_lease_lost_total", nil); n != 1 {
		t.Errorf("govern_registration_lease_lost_total = %v, want 1", n)
	}
	if err := reg.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(ctx, key)
	if err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("after Deregister the key is still there: %v, %v", resp.Kvs, err)
	}
}

func TestBadConfigNamesTheFix(t *testing.T) {
	c := newClient(t, etcdAddr)
	if _, err := etcd.NewRegistry(c, etcd.WithTTL(1500*time.Millisecond)); err == nil {
		t.Error("NewRegistry accepted a TTL of 1.5s; etcd leases count whole seconds")
	}
	if _, err := etcd.NewRegistry(nil); err == nil {
		t.Error("NewRegistry accepted a nil client")
	}
	r := newRegistry(t, c, "/test/bad", nil)
	if _, err := r.Register(t.Context(), "inventory", discovery.Endpoint{Addr: "no-port"}); err == nil {
		t.Error("Register accepted an address without a port")
	}
}

// BenchmarkPropagation measures how long a registration takes to reach a
// client's balancer (the resolver's state update, which rebuilds the
// picker), over 100 instances registering one after another:
//
//	go test -run '^$' -bench Propagation -benchtime 1x ./runtime/discovery/etcd
func BenchmarkPropagation(b *testing.B) {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdAddr}, DialTimeout: 2 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r, err := etcd.NewRegistry(c, etcd.WithPrefix("/bench/propagation"), etcd.WithTTL(10*time.Second), etcd.WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	builder, err := discovery.NewBuilder(r, discovery.WithoutProbing(), discovery.WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		rec := discoverytest.NewStateRecorder()
		res, err := builder.Build(resolver.Target{URL: url.URL{Scheme: "govern", Path: "/inventory"}}, rec, resolver.BuildOptions{})
		if err != nil {
			b.Fatal(err)
		}
		var lat []time.Duration
		var regs []discovery.Registration
		for i := range 100 {
			addr := fmt.Sprintf("127.0.0.2:%d", 20000+i)
			start := time.Now()
			reg, err := r.Register(context.Background(), "inventory", discovery.Endpoint{Addr: addr, Region: "us-west-2"})
			if err != nil {
				b.Fatal(err)
			}
			regs = append(regs, reg)
			at, ok := rec.WaitFor(addr, 10*time.Second)
			if !ok {
				b.Fatalf("%s never reached the balancer", addr)
			}
			lat = append(lat, at.Sub(start))
		}
		res.Close()
		for _, reg := range regs {
			_ = reg.Deregister(context.Background())
		}
		p50, p99 := discoverytest.Percentiles(lat)
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	}
}
