package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/govkit/govern/internal/redishealth"
	"github.com/govkit/govern/internal/redistest"
	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/idempotency/redisstore"
	"github.com/govkit/govern/runtime/policy"
)

// cluster is the one Redis Cluster of this test binary.
var cluster redistest.SharedCluster

// A result or release the failover cut short is retried from a timer until
// its claim's lease ends (30 s at most here); only what outlives that leaks.
func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m, &cluster, 40*time.Second)) }

const method = "/govern.test.v1.Orders/Pay"

func table(lease time.Duration) policy.Table {
	return policy.Table{method: {FullMethod: method, Timeout: 2 * time.Second,
		Idempotency: &policy.Idempotency{Required: true, TTL: time.Hour, Lease: lease}}}
}

// fleet is three replicas of a service, each with its own cluster client,
// store and idempotency server, sharing one handler that counts its runs
// per key.
type fleet struct {
	servers []*idempotency.Server
	prefix  string
	runs    sync.Map // key -> *atomic.Int64
	history storeHistory
	work    time.Duration
}

func newFleet(t *testing.T, c *redistest.Cluster, lease time.Duration, opts ...redisstore.Option) *fleet {
	return newFleetWithTimeout(t, c, lease, 500*time.Millisecond, opts...)
}

// newFleetWithTimeout is newFleet with the clients' read and write timeout
// (and the claim timeout) set to timeout.
func newFleetWithTimeout(t *testing.T, c *redistest.Cluster, lease, timeout time.Duration, opts ...redisstore.Option) *fleet {
	t.Helper()
	// No hash tag in the prefix: store keys spread over every slot.
	prefix := strings.NewReplacer("{", "", "}", "").Replace(fmt.Sprintf("govern-test:%s:%d:", t.Name(), time.Now().UnixNano()))
	f := &fleet{work: 20 * time.Millisecond, prefix: prefix}
	for range 3 {
		client := c.Client(t, func(o *redis.ClusterOptions) {
			o.ContextTimeoutEnabled = true
			// A failed call fails now and the caller retries; a
			// ClusterClient still resends a command whose connection
			// broke (up to MaxRedirects), which the store is safe for.
			o.MaxRetries = -1
			o.DialTimeout = 200 * time.Millisecond
			o.ReadTimeout = timeout
			o.WriteTimeout = timeout
		})
		store, err := redisstore.New(client, append([]redisstore.Option{redisstore.WithKeyPrefix(prefix), redisstore.WithClaimTimeout(timeout)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		f.servers = append(f.servers, idempotency.NewServer(table(lease), &recordingStore{Store: store, history: &f.history, replica: len(f.servers)},
			idempotency.WithLogger(slog.New(slog.NewTextHandler(testLog{t}, nil)))))
	}
	return f
}

// storeHistory keeps every store operation of a fleet by key, so a test
// that sees a handler run twice can print how the key got there.
type storeHistory struct {
	mu     sync.Mutex
	events map[idempotency.Key][]string
}

func (h *storeHistory) add(key idempotency.Key, replica int, format string, args ...any) {
	line := fmt.Sprintf("%s replica %d: ", time.Now().Format("15:04:05.000"), replica) + fmt.Sprintf(format, args...)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.events == nil {
		h.events = map[idempotency.Key][]string{}
	}
	h.events[key] = append(h.events[key], line)
}

// of returns the history of the store key of the idempotency key key.
func (h *storeHistory) of(key string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.events[idempotency.DeriveKey("", method, key)], "\n")
}

// recordingStore is a replica's store, recording into history.
type recordingStore struct {
	idempotency.Store
	history *storeHistory
	replica int
}

func (s *recordingStore) Claim(ctx context.Context, key idempotency.Key, claim idempotency.Record, lease time.Duration) (idempotency.Record, bool, error) {
	began := time.Now()
	rec, claimed, err := s.Store.Claim(ctx, key, claim, lease)
	s.history.add(key, s.replica, "claim owner %x (%v): claimed=%v err=%v held by %x state %c", claim.Owner[8:], time.Since(began).Round(time.Millisecond), claimed, err, rec.Owner[8:], rec.State)
	return rec, claimed, err
}

func (s *recordingStore) Finish(ctx context.Context, key idempotency.Key, owner idempotency.Owner, result idempotency.Record, ttl time.Duration) error {
	began := time.Now()
	err := s.Store.Finish(ctx, key, owner, result, ttl)
	s.history.add(key, s.replica, "finish owner %x (%v): err=%v", owner[8:], time.Since(began).Round(time.Millisecond), err)
	return err
}

func (s *recordingStore) Release(ctx context.Context, key idempotency.Key, owner idempotency.Owner) error {
	began := time.Now()
	err := s.Store.Release(ctx, key, owner)
	s.history.add(key, s.replica, "release owner %x (%v): err=%v", owner[8:], time.Since(began).Round(time.Millisecond), err)
	return err
}

// handler is the service's method: it works for f.work, honouring its
// deadline, and counts a completed run only when it returns a result (a
// run cut short by its deadline fails, releases its claim and is retried,
// as a transient failure should be).
func (f *fleet) handler(key string) grpc.UnaryHandler {
	return func(ctx context.Context, req any) (any, error) {
		select {
		case <-time.After(f.work):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		n, _ := f.runs.LoadOrStore(key, new(atomic.Int64))
		run := n.(*atomic.Int64).Add(1)
		f.history.add(idempotency.DeriveKey("", method, key), -1, "handler completed run %d", run)
		return structpb.NewStruct(map[string]any{"key": key, "run": float64(run), "at": float64(time.Now().UnixNano())})
	}
}

// testLog writes the servers' logs (store failures, lost leases) into the
// test's output.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// call sends one attempt of key to replica i with a deadline.
func (f *fleet) call(i int, key string, deadline time.Duration) (*structpb.Struct, error) {
	ctx, cancel := context.WithTimeout(metadata.NewIncomingContext(context.Background(), metadata.Pairs(idempotency.MetadataKey, key)), deadline)
	defer cancel()
	resp, err := f.servers[i%len(f.servers)].UnaryServerInterceptor()(ctx, &structpb.Struct{}, &grpc.UnaryServerInfo{FullMethod: method}, f.handler(key))
	if err != nil {
		return nil, err
	}
	return resp.(*structpb.Struct), nil
}

func (f *fleet) runsOf(key string) int64 {
	n, ok := f.runs.Load(key)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

// retryable reports whether a client should retry err: the duplicate is in
// flight, or the store cannot answer right now (fail closed).
func retryable(err error) bool {
	return errinfo.Is(err, errinfo.IdempotencyInFlight) || errinfo.Is(err, errinfo.IdempotencyStoreUnavailable) ||
		status.Code(err) == codes.DeadlineExceeded || status.Code(err) == codes.Unavailable
}

// keysPerPrimary returns fresh idempotency keys whose store keys (under
// prefix) fall perPrimary on each of the cluster's three primaries, so a
// test covers every shard with few keys.
func keysPerPrimary(t *testing.T, c *redistest.Cluster, prefix string, perPrimary int) []string {
	t.Helper()
	client := c.Client(t)
	count := map[string]int{}
	var keys []string
	for i := 0; len(keys) < 3*perPrimary; i++ {
		key := fmt.Sprintf("key-%d-%d", i, time.Now().UnixNano())
		node, err := client.MasterForKey(context.Background(), prefix+idempotency.DeriveKey("", method, key).String())
		if err != nil {
			t.Fatal(err)
		}
		if addr := node.Options().Addr; count[addr] < perPrimary {
			count[addr]++
			keys = append(keys, key)
		}
	}
	return keys
}

// 100 concurrent duplicates of each key over three replicas: the handler
// runs exactly once per key and every answer is byte-identical.
func TestClusterRunsOncePerKey(t *testing.T) {
	c := cluster.Get(t)
	// Timeouts that a loaded CI machine does not reach: this test is about
	// concurrency, TestClusterFailover about failures.
	f := newFleetWithTimeout(t, c, 30*time.Second, 3*time.Second)
	keys := keysPerPrimary(t, c, f.prefix, 2)
	const duplicates = 100
	answers := make([][][]byte, len(keys))
	var wg sync.WaitGroup
	for k, key := range keys {
		answers[k] = make([][]byte, duplicates)
		for d := range duplicates {
			wg.Go(func() {
				for {
					resp, err := f.call(d, key, 5*time.Second)
					if err == nil {
						answers[k][d], _ = proto.MarshalOptions{Deterministic: true}.Marshal(resp)
						return
					}
					if !retryable(err) {
						t.Errorf("%s: %v", key, err)
						return
					}
					time.Sleep(errinfo.RetryAfter(err) + time.Millisecond)
				}
			})
		}
	}
	wg.Wait()
	for k, key := range keys {
		if got := f.runsOf(key); got != 1 {
			t.Errorf("%s: handler completed %d times, want once; its store operations:\n%s\n%s", key, got, f.history.of(key), c.Describe(context.Background()))
		}
		for d := 1; d < duplicates; d++ {
			if !bytes.Equal(answers[k][d], answers[k][0]) {
				t.Fatalf("%s: duplicate %d got %x, the first got %x", key, d, answers[k][d], answers[k][0])
			}
		}
	}
}

// failoverResult is what one failover run observed.
type failoverResult struct {
	keys, doubles          int
	slowest                time.Duration
	readyErrors            []string
	degradedAfter          bool
	recoveredWithin        time.Duration
	completedAfterFailover int64
}

// completed returns how many handler runs completed so far.
func (f *fleet) completed() int64 {
	var total int64
	f.runs.Range(func(_, n any) bool {
		total += n.(*atomic.Int64).Load()
		return true
	})
	return total
}

func waitReady(t *testing.T, ctx context.Context, s *redisstore.Store) {
	t.Helper()
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		err := s.Ready(rctx)
		cancel()
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("store not ready after the node came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runThroughFailover sends keyed calls (three duplicates of each key, one
// per replica, each retried until it gets the result) while the primary of
// a shard is killed with SIGKILL, and counts the keys whose handler
// completed more than once.
func runThroughFailover(t *testing.T, c *redistest.Cluster, opts ...redisstore.Option) failoverResult {
	t.Helper()
	const (
		lease       = 30 * time.Second // the result of a run cut by the failover is stored within it
		callTimeout = 2 * time.Second
		workers     = 12
	)
	f := newFleet(t, c, lease, opts...)
	f.work = 30 * time.Millisecond
	var (
		res      failoverResult
		mu       sync.Mutex
		keySeq   atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
		runID    = time.Now().UnixNano()
		deadline = time.Now().Add(90 * time.Second)
	)
	callUntilAnswered := func(replica int, key string) {
		for time.Now().Before(deadline) {
			ctx, cancel := context.WithTimeout(metadata.NewIncomingContext(context.Background(), metadata.Pairs(idempotency.MetadataKey, key)), callTimeout)
			began := time.Now()
			_, err := f.servers[replica].UnaryServerInterceptor()(ctx, &structpb.Struct{}, &grpc.UnaryServerInfo{FullMethod: method}, f.handler(key))
			took := time.Since(began)
			cancel()
			mu.Lock()
			res.slowest = max(res.slowest, took)
			mu.Unlock()
			if err == nil {
				return
			}
			if !retryable(err) {
				t.Errorf("%s on replica %d: %v", key, replica, err)
				return
			}
			time.Sleep(max(errinfo.RetryAfter(err), 20*time.Millisecond))
		}
		t.Errorf("%s on replica %d: no answer within the test", key, replica)
	}
	for range workers {
		wg.Go(func() {
			for !stop.Load() {
				key := fmt.Sprintf("failover-%d-%d", runID, keySeq.Add(1))
				var dups sync.WaitGroup
				for replica := range 3 {
					dups.Go(func() { callUntilAnswered(replica, key) })
				}
				dups.Wait()
			}
		})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	readiness, err := redisstore.New(c.Client(t, func(o *redis.ClusterOptions) { o.MaxRetries = -1 }), opts...)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // calls flowing
	victim, err := c.PrimaryOf(ctx, f.prefix+idempotency.DeriveKey("", method, fmt.Sprintf("failover-%d-1", runID)).String())
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	// Readiness while the shard has no primary, until the replica is
	// promoted and every slot is served again.
	for {
		rctx, rcancel := context.WithTimeout(ctx, time.Second)
		err := readiness.Ready(rctx)
		rep := redishealth.Probe(rctx, readiness.Client(), 0)
		rcancel()
		if err != nil {
			res.readyErrors = append(res.readyErrors, err.Error())
		}
		if rep.State != redishealth.Unavailable {
			res.degradedAfter = rep.State == redishealth.Degraded
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the replica was never promoted: %v", rep.Problems)
		}
		time.Sleep(200 * time.Millisecond)
	}
	res.recoveredWithin = time.Since(killed)
	// Calls flow on the promoted replica, no restart of anything: without
	// replica acks the shard serves claims again; with them it fails
	// closed (its primary has no replica left to acknowledge) until the
	// killed node is back as a replica.
	before := f.completed()
	time.Sleep(2 * time.Second)
	res.completedAfterFailover = f.completed() - before
	if err := c.Restart(ctx, victim); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ctx, readiness)
	time.Sleep(time.Second) // calls flowing on the healed cluster
	stop.Store(true)
	wg.Wait()
	f.runs.Range(func(key, n any) bool {
		res.keys++
		if n.(*atomic.Int64).Load() > 1 {
			res.doubles++
			t.Logf("%s: handler completed %d times", key, n.(*atomic.Int64).Load())
		}
		return true
	})
	if res.slowest > callTimeout+time.Second {
		t.Errorf("a call took %v, past its %v deadline", res.slowest, callTimeout)
	}
	if !slicesContain(res.readyErrors, victim.Addr) {
		t.Errorf("no readiness error named the killed primary %s: %q", victim.Addr, res.readyErrors)
	}
	if !res.degradedAfter {
		t.Errorf("after the failover, with %s down, the store is not reported degraded", victim.Addr)
	}
	t.Logf("%d keys, %d double executions, slowest call %v, replica promoted %v after the kill, %d runs completed between promotion and the node's return; first readiness error: %.200s",
		res.keys, res.doubles, res.slowest.Round(time.Millisecond), res.recoveredWithin.Round(time.Millisecond), res.completedAfterFailover, firstOf(res.readyErrors))
	return res
}

func slicesContain(errs []string, sub string) bool {
	for _, e := range errs {
		if strings.Contains(e, sub) {
			return true
		}
	}
	return false
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// Through the SIGKILL of a primary, with replica acknowledgement on, no key
// runs twice; without it, a claim or result the primary had not replicated
// may be lost, and the test reports how many keys ran twice.
func TestClusterFailover(t *testing.T) {
	c := cluster.Get(t)
	t.Run("replica acks off", func(t *testing.T) {
		res := runThroughFailover(t, c)
		t.Logf("REPORT replica-acks=0: %d of %d keys ran twice", res.doubles, res.keys)
		if res.completedAfterFailover == 0 {
			t.Error("no call completed on the promoted replica before the killed node came back: the fleet did not recover on its own")
		}
	})
	t.Run("replica acks on", func(t *testing.T) {
		res := runThroughFailover(t, c, redisstore.WithReplicaAcks(1, 500*time.Millisecond))
		t.Logf("REPORT replica-acks=1: %d of %d keys ran twice", res.doubles, res.keys)
		if res.doubles != 0 {
			t.Errorf("%d keys ran twice with replica acknowledgement on; want none", res.doubles)
		}
	})
}
