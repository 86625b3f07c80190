package idempotency_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/govkit/govern/internal/redistest"
	"github.com/govkit/govern/runtime/errinfo"
	. "github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/idempotency/redisstore"
	"github.com/govkit/govern/runtime/policy"
)

// deployment is how the suite runs servers: one replica over a MemoryStore,
// or three replicas (three gRPC servers, three Redis clients) sharing one
// Redis.
type deployment struct {
	name     string
	replicas int
	// stores returns one Store per replica, all sharing state.
	stores func(t *testing.T, n int) []Store
}

func deployments() []deployment {
	return []deployment{
		{name: "memory", replicas: 1, stores: func(t *testing.T, n int) []Store {
			s := NewMemoryStore()
			out := make([]Store, n)
			for i := range out {
				out[i] = s
			}
			return out
		}},
		{name: "redis", replicas: 3, stores: func(t *testing.T, n int) []Store {
			first := requireRedis(t)
			prefix := testPrefix(t, first)
			// A claim timeout a loaded machine does not reach: these tests
			// are about concurrency; the Redis fault tests set their own.
			opts := []redisstore.Option{redisstore.WithKeyPrefix(prefix), redisstore.WithClaimTimeout(10 * time.Second)}
			out := []Store{newRedisStore(t, first, opts...)}
			for len(out) < n {
				out = append(out, newRedisStore(t, requireRedis(t), opts...))
			}
			return out
		}},
	}
}

// cluster is a running deployment: replicas of the orders service sharing
// one handler (so runs counts every replica).
type cluster struct {
	svc    *orders
	conns  []*grpc.ClientConn
	stores []Store
}

func (d deployment) start(t *testing.T, svc *orders, table policy.Table, opts ...Option) *cluster {
	t.Helper()
	c := &cluster{svc: svc, stores: d.stores(t, d.replicas)}
	for _, st := range c.stores {
		srv := NewServer(table, st, opts...)
		c.conns = append(c.conns, startServer(t, svc, srv.UnaryServerInterceptor()))
	}
	return c
}

// conn returns the connection of replica i (mod the replica count).
func (c *cluster) conn(i int) *grpc.ClientConn { return c.conns[i%len(c.conns)] }

func withKey(key string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), MetadataKey, key)
}

func wantReason(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	if status.Code(err) != code || !errinfo.Is(err, reason) {
		t.Fatalf("err = %v, want %v %s", err, code, reason)
	}
}

func wantRuns(t *testing.T, svc *orders, n int64) {
	t.Helper()
	if got := svc.runs.Load(); got != n {
		t.Fatalf("handler ran %d times, want %d", got, n)
	}
}

func TestSameKeyConcurrentCallsRunOnce(t *testing.T) {
	for _, d := range deployments() {
		for _, via := range []string{"key fields", "metadata key"} {
			t.Run(d.name+"/"+via, func(t *testing.T) {
				svc := &orders{delay: 200 * time.Millisecond}
				c := d.start(t, svc, testTable(time.Hour, 10*time.Second))
				req := mustStruct(t, map[string]any{"client_id": "c-1", "order_sn": "sn-1", "amount": 42.5})
				call := func(i int) (*structpb.Struct, error) {
					if via == "key fields" {
						return invoke(context.Background(), c.conn(i), methodCreate, req)
					}
					return invoke(withKey(`"order 1 of c-1"`), c.conn(i), methodPay, req)
				}

				const callers = 100
				resps := make([]*structpb.Struct, callers)
				errs := make([]error, callers)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range callers {
					wg.Go(func() {
						<-start
						resps[i], errs[i] = call(i)
					})
				}
				close(start)
				wg.Wait()

				wantRuns(t, svc, 1)
				original := wire(t, svc.lastProduced(t))
				ok := 0
				for i, err := range errs {
					if err != nil {
						wantReason(t, err, codes.Aborted, errinfo.IdempotencyInFlight)
						if errinfo.RetryAfter(err) <= 0 {
							t.Errorf("caller %d: in-flight rejection without a retry delay", i)
						}
						continue
					}
					ok++
					if !bytes.Equal(wire(t, resps[i]), original) {
						t.Errorf("caller %d got %v, want the original response", i, resps[i])
					}
				}
				if ok == 0 {
					t.Error("no caller got the original response")
				}
				// After completion every replica replays the same bytes.
				for i := range 3 * d.replicas {
					resp, err := call(i)
					if err != nil {
						t.Fatalf("replay %d: %v", i, err)
					}
					if !bytes.Equal(wire(t, resp), original) {
						t.Errorf("replay %d differs from the original", i)
					}
				}
				wantRuns(t, svc, 1)
			})
		}
	}
}

func TestKeyReusedWithAnotherRequest(t *testing.T) {
	for _, d := range deployments() {
		t.Run(d.name, func(t *testing.T) {
			proceed := make(chan struct{})
			svc := &orders{}
			svc.behave = func(ctx context.Context, n int64, req *structpb.Struct) (*structpb.Struct, error) {
				<-proceed
				return mustStruct(t, map[string]any{"paid": req.AsMap()["amount"], "run": float64(n)}), nil
			}
			c := d.start(t, svc, testTable(time.Hour, 10*time.Second))
			a := mustStruct(t, map[string]any{"amount": 10.0})
			b := mustStruct(t, map[string]any{"amount": 99.0})

			first := make(chan error, 1)
			go func() {
				_, err := invoke(withKey("pay-1"), c.conn(0), methodPay, a)
				first <- err
			}()
			for svc.runs.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			// While the first call runs: another body is a reused key, the
			// same body is in flight.
			_, err := invoke(withKey("pay-1"), c.conn(1), methodPay, b)
			wantReason(t, err, codes.FailedPrecondition, errinfo.IdempotencyKeyReused)
			_, err = invoke(withKey("pay-1"), c.conn(2), methodPay, a)
			wantReason(t, err, codes.Aborted, errinfo.IdempotencyInFlight)
			close(proceed)
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			// After it finished: still reused for b, replayed for a.
			_, err = invoke(withKey("pay-1"), c.conn(1), methodPay, b)
			wantReason(t, err, codes.FailedPrecondition, errinfo.IdempotencyKeyReused)
			resp, err := invoke(withKey("pay-1"), c.conn(2), methodPay, a)
			if err != nil || resp.AsMap()["paid"] != 10.0 {
				t.Fatalf("replay = %v, %v", resp, err)
			}
			wantRuns(t, svc, 1)
		})
	}
}

func TestMissingAndInvalidKeys(t *testing.T) {
	full := mustStruct(t, map[string]any{"client_id": "c", "order_sn": "s"})
	partial := mustStruct(t, map[string]any{"client_id": "c"})
	cases := []struct {
		name   string
		ctx    context.Context
		method string
		req    *structpb.Struct
		reason string
	}{
		{"create without fields", context.Background(), methodCreate, partial, errinfo.IdempotencyKeyMissing},
		{"pay without metadata", context.Background(), methodPay, full, errinfo.IdempotencyKeyMissing},
		{"space in bare key", withKey("a b"), methodPay, full, errinfo.IdempotencyKeyInvalid},
		{"empty key", withKey(""), methodPay, full, errinfo.IdempotencyKeyInvalid},
		{"too long", withKey(string(bytes.Repeat([]byte("k"), MaxKeyLength+1))), methodPay, full, errinfo.IdempotencyKeyInvalid},
		{"two keys", metadata.AppendToOutgoingContext(context.Background(), MetadataKey, "a", MetadataKey, "b"), methodPay, full, errinfo.IdempotencyKeyInvalid},
		{"invalid key beats key fields", withKey(`"unterminated`), methodCreate, full, errinfo.IdempotencyKeyInvalid},
	}
	for _, d := range deployments() {
		t.Run(d.name, func(t *testing.T) {
			svc := &orders{}
			c := d.start(t, svc, testTable(time.Hour, 10*time.Second))
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					_, err := invoke(tc.ctx, c.conn(0), tc.method, tc.req)
					wantReason(t, err, codes.InvalidArgument, tc.reason)
				})
			}
			wantRuns(t, svc, 0)
			// An optional key that is absent just runs, every time; an
			// ungoverned method too.
			for range 2 {
				if _, err := invoke(context.Background(), c.conn(0), methodNote, full); err != nil {
					t.Fatal(err)
				}
				if _, err := invoke(context.Background(), c.conn(0), methodPlain, full); err != nil {
					t.Fatal(err)
				}
			}
			wantRuns(t, svc, 4)
		})
	}
}

func TestTTLExpiryRunsAgain(t *testing.T) {
	const ttl = time.Second
	for _, d := range deployments() {
		t.Run(d.name, func(t *testing.T) {
			svc := &orders{}
			c := d.start(t, svc, testTable(ttl, 10*time.Second))
			req := mustStruct(t, map[string]any{"client_id": "c", "order_sn": "ttl"})
			if _, err := invoke(context.Background(), c.conn(0), methodCreate, req); err != nil {
				t.Fatal(err)
			}
			finished := time.Now()
			if _, err := invoke(context.Background(), c.conn(1), methodCreate, req); err != nil {
				t.Fatal(err)
			}
			if svc.runs.Load() != 1 && time.Since(finished) >= ttl {
				tooSlow(t, "the replay came after the TTL")
			}
			wantRuns(t, svc, 1)
			time.Sleep(time.Until(finished.Add(ttl + 100*time.Millisecond)))
			if _, err := invoke(context.Background(), c.conn(2), methodCreate, req); err != nil {
				t.Fatal(err)
			}
			wantRuns(t, svc, 2)
		})
	}
}

func TestCrashedOwnerLeaseExpires(t *testing.T) {
	const lease = time.Second
	for _, d := range deployments() {
		t.Run(d.name, func(t *testing.T) {
			svc := &orders{}
			c := d.start(t, svc, testTable(time.Hour, lease))
			req := mustStruct(t, map[string]any{"amount": 5.0})
			// A replica claimed the key and died before finishing.
			crashed := Record{Owner: Owner{0xde, 0xad}, Fingerprint: sha256.Sum256(wire(t, req)), Deadline: time.Now().Add(lease)}
			if _, claimed, err := c.stores[0].Claim(context.Background(), DeriveKey("", methodPay, "crash-1"), crashed, lease); err != nil || !claimed {
				t.Fatalf("claim as the crashed owner: %v %v", claimed, err)
			}
			claimed := time.Now()
			_, err := invoke(withKey("crash-1"), c.conn(1), methodPay, req)
			if err == nil && time.Since(claimed) >= lease {
				tooSlow(t, "the call came after the lease")
			}
			wantReason(t, err, codes.Aborted, errinfo.IdempotencyInFlight)
			if d := errinfo.RetryAfter(err); d <= 0 || d > lease {
				t.Errorf("retry delay %v, want within (0, %v]", d, lease)
			}
			wantRuns(t, svc, 0)
			time.Sleep(lease + 100*time.Millisecond)
			for i := range 3 {
				if _, err := invoke(withKey("crash-1"), c.conn(i), methodPay, req); err != nil {
					t.Fatalf("call %d after the lease: %v", i, err)
				}
			}
			wantRuns(t, svc, 1)
		})
	}
}

func TestDeterministicErrorIsReplayed(t *testing.T) {
	for _, d := range deployments() {
		t.Run(d.name, func(t *testing.T) {
			svc := &orders{}
			svc.behave = func(context.Context, int64, *structpb.Struct) (*structpb.Struct, error) {
				st, _ := status.New(codes.InvalidArgument, "amount must be positive").WithDetails(&errdetails.BadRequest{
					FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "amount", Description: "must be > 0"}},
				})
				return nil, st.Err()
			}
			c := d.start(t, svc, testTable(time.Hour, 10*time.Second))
			req := mustStruct(t, map[string]any{"amount": -1.0})
			var first *status.Status
			for i := range 3 {
				_, err := invoke(withKey("neg"), c.conn(i), methodPay, req)
				st := status.Convert(err)
				if st.Code() != codes.InvalidArgument {
					t.Fatalf("call %d: %v", i, err)
				}
				if first == nil {
					first = st
				} else if !proto.Equal(first.Proto(), st.Proto()) {
					t.Errorf("call %d: status %v, want the original %v", i, st.Proto(), first.Proto())
				}
			}
			if len(first.Details()) != 1 {
				t.Errorf("details lost: %v", first.Details())
			}
			wantRuns(t, svc, 1)
		})
	}
}

func TestTransientErrorReleasesClaim(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		transient bool
	}{
		{"unavailable", status.Error(codes.Unavailable, "db down"), true},
		{"deadline", status.Error(codes.DeadlineExceeded, "slow"), true},
		{"exhausted", status.Error(codes.ResourceExhausted, "busy"), true},
		{"aborted", status.Error(codes.Aborted, "conflict"), true},
		{"context canceled", context.Canceled, true},
		{"not found", status.Error(codes.NotFound, "no such account"), false},
		{"plain error is UNKNOWN", errors.New("boom"), false},
	}
	for _, d := range deployments() {
		t.Run(d.name, func(t *testing.T) {
			svc := &orders{}
			var failWith atomic.Pointer[error]
			svc.behave = func(_ context.Context, n int64, req *structpb.Struct) (*structpb.Struct, error) {
				if req.AsMap()["attempt"] == 1.0 {
					return nil, *failWith.Load()
				}
				return mustStruct(t, map[string]any{"run": float64(n)}), nil
			}
			c := d.start(t, svc, testTable(time.Hour, 10*time.Second))
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					failWith.Store(&tc.err)
					before := svc.runs.Load()
					key := withKey("transient-" + randomHex(4))
					_, err := invoke(key, c.conn(0), methodPay, mustStruct(t, map[string]any{"attempt": 1.0}))
					want := status.Code(tc.err)
					if errors.Is(tc.err, context.Canceled) {
						want = codes.Canceled
					}
					if status.Code(err) != want {
						t.Fatalf("first call: %v, want %v", err, want)
					}
					_, err = invoke(key, c.conn(1), methodPay, mustStruct(t, map[string]any{"attempt": 1.0}))
					if tc.transient {
						// The claim was released: the retry ran (and failed) again.
						if status.Code(err) != want || svc.runs.Load() != before+2 {
							t.Fatalf("retry after a transient error: %v, runs %d, want a second run", err, svc.runs.Load()-before)
						}
					} else if status.Code(err) != want || svc.runs.Load() != before+1 {
						t.Fatalf("retry after a deterministic error: %v, runs %d, want a replay", err, svc.runs.Load()-before)
					}
				})
			}
		})
	}
}

func TestPanicReleasesClaim(t *testing.T) {
	for _, d := range deployments() {
		t.Run(d.name, func(t *testing.T) {
			svc := &orders{}
			svc.behave = func(_ context.Context, n int64, _ *structpb.Struct) (*structpb.Struct, error) {
				if n == 1 {
					panic("handler bug")
				}
				return mustStruct(t, map[string]any{"run": float64(n)}), nil
			}
			c := d.start(t, svc, testTable(time.Hour, 10*time.Second))
			req := mustStruct(t, map[string]any{"amount": 1.0})
			if _, err := invoke(withKey("p"), c.conn(0), methodPay, req); status.Code(err) != codes.Internal {
				t.Fatalf("panicking call: %v", err)
			}
			for i := range 2 {
				if resp, err := invoke(withKey("p"), c.conn(i), methodPay, req); err != nil || resp.AsMap()["run"] != 2.0 {
					t.Fatalf("call %d after the panic: %v %v", i, resp, err)
				}
			}
			wantRuns(t, svc, 2)
		})
	}
}

func TestHandlerDeadlineStaysBelowLease(t *testing.T) {
	const lease = 2 * time.Second
	cases := []struct {
		name        string
		callTimeout time.Duration
		max         time.Duration
	}{
		{"no caller deadline", 0, lease},
		{"longer caller deadline", time.Minute, lease},
		{"shorter caller deadline", 300 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, d := range deployments() {
		t.Run(d.name, func(t *testing.T) {
			var mu sync.Mutex
			var remaining time.Duration
			svc := &orders{}
			svc.behave = func(ctx context.Context, n int64, _ *structpb.Struct) (*structpb.Struct, error) {
				dl, ok := ctx.Deadline()
				if !ok {
					return nil, status.Error(codes.FailedPrecondition, "handler has no deadline")
				}
				mu.Lock()
				remaining = time.Until(dl)
				mu.Unlock()
				return &structpb.Struct{}, nil
			}
			c := d.start(t, svc, testTable(time.Hour, lease))
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ctx := withKey("dl-" + randomHex(4))
					if tc.callTimeout > 0 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, tc.callTimeout)
						defer cancel()
					}
					if _, err := invoke(ctx, c.conn(0), methodPay, &structpb.Struct{}); err != nil {
						t.Fatal(err)
					}
					mu.Lock()
					defer mu.Unlock()
					if remaining > tc.max || (tc.callTimeout == 0 && remaining < tc.max/2) {
						t.Errorf("handler deadline in %v, want at most %v", remaining, tc.max)
					}
				})
			}
		})
	}
}

func TestScopeSeparatesCallers(t *testing.T) {
	tenant := func(ctx context.Context) string {
		if v := metadata.ValueFromIncomingContext(ctx, "tenant"); len(v) == 1 {
			return v[0]
		}
		return ""
	}
	for _, d := range deployments() {
		t.Run(d.name, func(t *testing.T) {
			svc := &orders{}
			c := d.start(t, svc, testTable(time.Hour, 10*time.Second), WithScope(tenant))
			req := mustStruct(t, map[string]any{"amount": 3.0})
			for i, tn := range []string{"acme", "globex", "acme"} {
				ctx := metadata.AppendToOutgoingContext(context.Background(), MetadataKey, "same-key", "tenant", tn)
				if _, err := invoke(ctx, c.conn(i), methodPay, req); err != nil {
					t.Fatal(err)
				}
			}
			wantRuns(t, svc, 2)
		})
	}
}

func TestStoreFailureFailsClosed(t *testing.T) {
	for _, d := range deployments() {
		t.Run(d.name, func(t *testing.T) {
			svc := &orders{}
			stores := d.stores(t, 1)
			faulty := &faultyStore{Store: stores[0]}
			srv := NewServer(testTable(time.Hour, 10*time.Second), faulty)
			conn := startServer(t, svc, srv.UnaryServerInterceptor())
			req := mustStruct(t, map[string]any{"amount": 1.0})
			if _, err := invoke(withKey("before"), conn, methodPay, req); err != nil {
				t.Fatal(err)
			}
			faulty.down.Store(true)
			for _, key := range []string{"before", "during"} {
				_, err := invoke(withKey(key), conn, methodPay, req)
				wantReason(t, err, codes.Unavailable, errinfo.IdempotencyStoreUnavailable)
				if errinfo.RetryAfter(err) <= 0 {
					t.Error("store-unavailable rejection without a retry delay")
				}
			}
			wantRuns(t, svc, 1)
			faulty.down.Store(false)
			if _, err := invoke(withKey("during"), conn, methodPay, req); err != nil {
				t.Fatal(err)
			}
			if _, err := invoke(withKey("before"), conn, methodPay, req); err != nil {
				t.Fatal(err)
			}
			wantRuns(t, svc, 2)
		})
	}
}

func TestFailOpenRunsWithoutStore(t *testing.T) {
	svc := &orders{}
	faulty := &faultyStore{Store: NewMemoryStore()}
	faulty.down.Store(true)
	reg := prometheus.NewPedanticRegistry()
	srv := NewServer(testTable(time.Hour, 10*time.Second), faulty, WithFailOpen(), WithRegisterer(reg))
	conn := startServer(t, svc, srv.UnaryServerInterceptor())
	for range 2 {
		if _, err := invoke(withKey("k"), conn, methodPay, &structpb.Struct{}); err != nil {
			t.Fatal(err)
		}
	}
	wantRuns(t, svc, 2)
	if got := counterValue(t, reg, methodPay, ResultStoreError); got != 2 {
		t.Errorf("store_error = %v, want 2", got)
	}
}

func TestRedisUnreachable(t *testing.T) {
	// No Redis needed: the point is a port where nothing listens.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := lis.Addr().String()
	_ = lis.Close()
	client := redis.NewClient(&redis.Options{Addr: deadAddr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })

	svc := &orders{}
	srv := NewServer(testTable(time.Hour, 10*time.Second), newRedisStore(t, client))
	conn := startServer(t, svc, srv.UnaryServerInterceptor())
	for _, m := range []string{methodPay, methodCreate} {
		_, err := invoke(withKey("k"), conn, m, mustStruct(t, map[string]any{"client_id": "c", "order_sn": "s"}))
		wantReason(t, err, codes.Unavailable, errinfo.IdempotencyStoreUnavailable)
	}
	wantRuns(t, svc, 0)
}

// TestRedisHangingIsStoreUnavailable: a Redis that accepts connections but
// never answers must be reported as the store being unavailable while the
// caller still waits (claim timeout), not as the caller's own deadline.
func TestRedisHangingIsStoreUnavailable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			held.Go(func() {
				<-stop // read nothing, answer nothing
				_ = c.Close()
			})
		}
	}()
	t.Cleanup(func() {
		_ = lis.Close()
		close(stop)
		held.Wait()
	})
	// The client's own timeouts (3s read) outlast the caller's deadline: only
	// the store's claim timeout can answer in time.
	client := redis.NewClient(&redis.Options{Addr: lis.Addr().String(), MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })

	svc := &orders{}
	srv := NewServer(testTable(time.Hour, 10*time.Second), newRedisStore(t, client, redisstore.WithClaimTimeout(150*time.Millisecond)))
	conn := startServer(t, svc, srv.UnaryServerInterceptor())
	ctx, cancel := context.WithTimeout(withKey("hang"), 2*time.Second)
	defer cancel()
	_, err = invoke(ctx, conn, methodCreate, mustStruct(t, map[string]any{"client_id": "c", "order_sn": "s"}))
	wantReason(t, err, codes.Unavailable, errinfo.IdempotencyStoreUnavailable)
	wantRuns(t, svc, 0)
}

func TestRedisLostMidRun(t *testing.T) {
	redisClient := requireRedis(t)
	proxy := startTCPProxy(t, redistest.Addr())
	client := redis.NewClient(&redis.Options{Addr: proxy.addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, ReadTimeout: 500 * time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })
	prefix := testPrefix(t, redisClient)

	svc := &orders{}
	var cutDuringRun atomic.Bool
	svc.behave = func(_ context.Context, n int64, _ *structpb.Struct) (*structpb.Struct, error) {
		if cutDuringRun.Load() {
			proxy.cut()
		}
		return mustStruct(t, map[string]any{"run": float64(n)}), nil
	}
	srv := NewServer(testTable(time.Hour, time.Second), newRedisStore(t, client, redisstore.WithKeyPrefix(prefix)))
	conn := startServer(t, svc, srv.UnaryServerInterceptor())
	req := mustStruct(t, map[string]any{"amount": 1.0})

	if _, err := invoke(withKey("a"), conn, methodPay, req); err != nil {
		t.Fatal(err)
	}
	proxy.cut()
	for _, key := range []string{"a", "b"} {
		_, err := invoke(withKey(key), conn, methodPay, req)
		wantReason(t, err, codes.Unavailable, errinfo.IdempotencyStoreUnavailable)
	}
	wantRuns(t, svc, 1)

	proxy.restore(t)
	waitFor(t, func() bool {
		_, err := invoke(withKey("b"), conn, methodPay, req)
		if err != nil {
			wantReason(t, err, codes.Unavailable, errinfo.IdempotencyStoreUnavailable)
		}
		return err == nil
	})
	if resp, err := invoke(withKey("a"), conn, methodPay, req); err != nil || resp.AsMap()["run"] != 1.0 {
		t.Fatalf("replay of a after recovery: %v %v", resp, err)
	}
	wantRuns(t, svc, 2)

	// Redis lost while the handler runs: the caller still gets the result
	// of the work that was done; the result is stored once Redis is back
	// (retried within the lease), so the retry replays it instead of
	// running the handler a second time.
	cutDuringRun.Store(true)
	resp, err := invoke(withKey("c"), conn, methodPay, req)
	if err != nil || resp.AsMap()["run"] != 3.0 {
		t.Fatalf("call that lost Redis mid-run: %v %v", resp, err)
	}
	cutDuringRun.Store(false)
	proxy.restore(t)
	waitFor(t, func() bool {
		resp, err := invoke(withKey("c"), conn, methodPay, req)
		if err == nil && resp.AsMap()["run"] != 3.0 {
			t.Fatalf("retry of c ran the handler again: %v", resp.AsMap())
		}
		return err == nil
	})
	wantRuns(t, svc, 3)
}

// A claim that Redis stored but whose reply was lost (the connection
// stalled until the claim timeout) is released by its owner, so the retry
// runs at once instead of getting IDEMPOTENCY_IN_FLIGHT for the whole lease
// while nothing runs (issue 11, item 6).
func TestUnknownClaimOutcomeIsReleased(t *testing.T) {
	const lease = time.Minute
	req := mustStruct(t, map[string]any{"amount": 1.0})
	setup := func(t *testing.T) (*tcpProxy, *redis.Client, *grpc.ClientConn, *orders, string) {
		direct := requireRedis(t)
		prefix := testPrefix(t, direct)
		proxy := startTCPProxy(t, redistest.Addr())
		client := redis.NewClient(&redis.Options{Addr: proxy.addr, MaxRetries: -1, PoolSize: 1, ContextTimeoutEnabled: true, DialTimeout: 200 * time.Millisecond})
		t.Cleanup(func() { _ = client.Close() })
		if err := client.Ping(context.Background()).Err(); err != nil { // the pool's one connection
			t.Fatal(err)
		}
		svc := &orders{}
		srv := NewServer(testTable(time.Hour, lease), newRedisStore(t, client, redisstore.WithKeyPrefix(prefix), redisstore.WithClaimTimeout(200*time.Millisecond)))
		return proxy, direct, startServer(t, svc, srv.UnaryServerInterceptor()), svc, prefix
	}

	t.Run("one connection stalls", func(t *testing.T) {
		proxy, _, conn, svc, _ := setup(t)
		proxy.stall(false)
		_, err := invoke(withKey("stall-one"), conn, methodPay, req)
		wantReason(t, err, codes.Unavailable, errinfo.IdempotencyStoreUnavailable)
		wantRuns(t, svc, 0)
		// The retry, at once: the claim that landed was released.
		if _, err := invoke(withKey("stall-one"), conn, methodPay, req); err != nil {
			t.Fatalf("retry after a claim whose reply was lost: %v (want it to run, not wait for the %v lease)", err, lease)
		}
		wantRuns(t, svc, 1)
	})

	t.Run("redis unreachable for a while", func(t *testing.T) {
		proxy, direct, conn, svc, prefix := setup(t)
		proxy.stall(true)
		_, err := invoke(withKey("stall-all"), conn, methodPay, req)
		wantReason(t, err, codes.Unavailable, errinfo.IdempotencyStoreUnavailable)
		stored := prefix + DeriveKey("", methodPay, "stall-all").String()
		if n, err := direct.Exists(context.Background(), stored).Result(); err != nil || n != 1 {
			t.Fatalf("the lost claim is not in Redis (exists=%d, %v); the test does not reproduce a stored claim", n, err)
		}
		proxy.unstall()
		// Released from a timer within seconds of Redis answering again,
		// far inside the one-minute lease.
		start := time.Now()
		waitFor(t, func() bool {
			n, err := direct.Exists(context.Background(), stored).Result()
			return err == nil && n == 0
		})
		if waited := time.Since(start); waited > lease/2 {
			t.Fatalf("claim released after %v, not before the lease", waited)
		}
		if _, err := invoke(withKey("stall-all"), conn, methodPay, req); err != nil {
			t.Fatalf("retry after the store recovered: %v", err)
		}
		wantRuns(t, svc, 1)
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	svc := &orders{}
	store := NewMemoryStore()
	srv := NewServer(testTable(time.Hour, 10*time.Second), store, WithRegisterer(reg))
	// A second server on the same registry shares the counter.
	_ = NewServer(testTable(time.Hour, 10*time.Second), store, WithRegisterer(reg))
	conn := startServer(t, svc, srv.UnaryServerInterceptor())
	a, b := mustStruct(t, map[string]any{"amount": 1.0}), mustStruct(t, map[string]any{"amount": 2.0})
	_, _ = invoke(withKey("m"), conn, methodPay, a)           // executed
	_, _ = invoke(withKey("m"), conn, methodPay, a)           // replayed
	_, _ = invoke(withKey("m"), conn, methodPay, b)           // key_reused
	_, _ = invoke(context.Background(), conn, methodPay, a)   // missing
	_, _ = invoke(withKey("bad key"), conn, methodPay, a)     // invalid
	_, _ = invoke(context.Background(), conn, methodPlain, a) // not counted
	_, _ = invoke(context.Background(), conn, methodNote, a)  // not counted (no key)
	_, _, _ = store.Claim(context.Background(), DeriveKey("", methodPay, "busy"), Record{Fingerprint: sha256.Sum256(wire(t, a))}, time.Minute)
	_, _ = invoke(withKey("busy"), conn, methodPay, a) // in_flight
	want := map[string]float64{ResultExecuted: 1, ResultReplayed: 1, ResultKeyReused: 1, ResultMissing: 1, ResultInvalid: 1, ResultInFlight: 1, ResultStoreError: 0}
	for result, n := range want {
		if got := counterValue(t, reg, methodPay, result); got != n {
			t.Errorf("govern_idempotency_total{grpc_method=%q,result=%q} = %v, want %v", methodPay, result, got, n)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "grpc_method" && l.GetValue() == methodPlain {
					t.Errorf("series for an ungoverned method: %v", m)
				}
			}
		}
	}
}

func counterValue(t *testing.T, reg prometheus.Gatherer, method, result string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "govern_idempotency_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["grpc_method"] == method && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no govern_idempotency_total{grpc_method=%q,result=%q}", method, result)
	return 0
}

// roundTripCounter is a go-redis hook counting commands sent.
type roundTripCounter struct {
	mu sync.Mutex
	n  int
}

func (h *roundTripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *roundTripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.n++
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (h *roundTripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		h.n++
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}
func (h *roundTripCounter) take() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.n
	h.n = 0
	return n
}

func TestRedisRoundTripsPerCall(t *testing.T) {
	client := requireRedis(t)
	hook := &roundTripCounter{}
	client.AddHook(hook)
	store := newRedisStore(t, client, redisstore.WithKeyPrefix(testPrefix(t, client)))
	if err := store.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	svc := &orders{}
	srv := NewServer(testTable(time.Hour, 10*time.Second), store)
	conn := startServer(t, svc, srv.UnaryServerInterceptor())
	req := mustStruct(t, map[string]any{"amount": 1.0})
	other := mustStruct(t, map[string]any{"amount": 2.0})
	hook.take()
	steps := []struct {
		name string
		ctx  context.Context
		req  *structpb.Struct
		want int
	}{
		{"first call: claim + finish", withKey("rt"), req, 2},
		{"replay: claim returns the result", withKey("rt"), req, 1},
		{"key reused", withKey("rt"), other, 1},
		{"missing key: no store call", context.Background(), req, 0},
	}
	for _, s := range steps {
		_, _ = invoke(s.ctx, conn, methodPay, s.req)
		if got := hook.take(); got != s.want {
			t.Errorf("%s: %d redis round trips, want %d", s.name, got, s.want)
		}
	}
}

// tcpProxy forwards to a backend and can drop every connection and stop
// listening (cut), then listen on the same address again (restore).
// tcpProxy stands between a client and Redis so a test can cut every
// connection (cut, restore) or stall them: a stalled connection delivers
// commands to Redis but loses its replies, as a connection through a
// failing network path does.
type tcpProxy struct {
	addr, backend string
	mu            sync.Mutex
	lis           net.Listener
	conns         map[net.Conn]*atomic.Bool // -> stalled
	stallNew      atomic.Bool
	wg            sync.WaitGroup
}

// stall makes the open connections lose Redis's replies from now on, and
// new ones too when newToo is set.
func (p *tcpProxy) stall(newToo bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, stalled := range p.conns {
		stalled.Store(true)
	}
	p.stallNew.Store(newToo)
}

// unstall lets new connections through again; stalled ones stay broken.
func (p *tcpProxy) unstall() { p.stallNew.Store(false) }

func startTCPProxy(t *testing.T, backend string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{backend: backend, conns: map[net.Conn]*atomic.Bool{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = lis.Addr().String()
	p.serve(lis)
	t.Cleanup(func() {
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) serve(lis net.Listener) {
	p.mu.Lock()
	p.lis = lis
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			in, err := lis.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.backend)
			if err != nil {
				_ = in.Close()
				continue
			}
			stalled := new(atomic.Bool)
			stalled.Store(p.stallNew.Load())
			p.mu.Lock()
			p.conns[in], p.conns[out] = stalled, stalled
			p.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 && !(src == out && stalled.Load()) {
						if _, werr := dst.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				_ = dst.Close()
				_ = src.Close()
			}
			p.wg.Go(func() { pipe(out, in) })
			p.wg.Go(func() { pipe(in, out) })
		}
	})
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lis != nil {
		_ = p.lis.Close()
		p.lis = nil
	}
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

func (p *tcpProxy) restore(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	listening := p.lis != nil
	p.mu.Unlock()
	if listening {
		return
	}
	lis, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy cannot listen on %s again: %v", p.addr, err)
	}
	p.serve(lis)
}

// slowClaimStore applies a claim, then loses the answer: it returns only
// when the caller's context ends.
type slowClaimStore struct{ Store }

func (s slowClaimStore) Claim(ctx context.Context, key Key, claim Record, lease time.Duration) (Record, bool, error) {
	rec, claimed, err := s.Store.Claim(ctx, key, claim, lease)
	if err != nil || !claimed {
		return rec, claimed, err
	}
	<-ctx.Done()
	return Record{}, false, ctx.Err()
}

func callDirect(ctx context.Context, srv *Server, key string, req *structpb.Struct, svc *orders) (any, error) {
	ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(MetadataKey, key))
	return srv.UnaryServerInterceptor()(ctx, req, &grpc.UnaryServerInfo{FullMethod: methodPay}, func(ctx context.Context, req any) (any, error) {
		return svc.handle(ctx, req.(*structpb.Struct))
	})
}

func TestCallerGivingUpDuringClaimReleasesIt(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	mem := NewMemoryStore()
	slow := NewServer(testTable(time.Hour, 10*time.Second), slowClaimStore{mem}, WithRegisterer(reg))
	svc := &orders{}
	req := mustStruct(t, map[string]any{"amount": 1.0})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := callDirect(ctx, slow, "gave-up", req, svc); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err = %v, want DEADLINE_EXCEEDED", err)
	}
	if got := counterValue(t, reg, methodPay, ResultStoreError); got != 0 {
		t.Errorf("store_error = %v: a caller's deadline is not a store failure", got)
	}
	// The claim that landed was released: the retry runs at once.
	fast := NewServer(testTable(time.Hour, 10*time.Second), mem)
	if _, err := callDirect(context.Background(), fast, "gave-up", req, svc); err != nil {
		t.Fatalf("retry: %v", err)
	}
	wantRuns(t, svc, 1)
}

func TestInFlightRetryDelay(t *testing.T) {
	const lease = 10 * time.Second // budget 9s: margin 1s
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		deadline time.Time
		maxDelay time.Duration
		want     time.Duration
	}{
		{"owner running: its deadline", now.Add(300 * time.Millisecond), 5 * time.Second, 300 * time.Millisecond},
		{"capped", now.Add(8 * time.Second), 5 * time.Second, 5 * time.Second},
		{"owner past its deadline: the end of its lease", now.Add(-100 * time.Millisecond), 5 * time.Second, 900 * time.Millisecond},
		{"never a tight loop", now.Add(-5 * time.Second), 5 * time.Second, MinRetryDelay},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := NewMemoryStore()
			srv := NewServer(testTable(time.Hour, lease), mem, WithClock(func() time.Time { return now }), WithMaxRetryDelay(tc.maxDelay))
			req := mustStruct(t, map[string]any{"amount": 1.0})
			held := Record{Owner: Owner{9}, Fingerprint: sha256.Sum256(wire(t, req)), Deadline: tc.deadline}
			if _, claimed, _ := mem.Claim(context.Background(), DeriveKey("", methodPay, "k"), held, time.Minute); !claimed {
				t.Fatal("not claimed")
			}
			_, err := callDirect(context.Background(), srv, "k", req, &orders{})
			wantReason(t, err, codes.Aborted, errinfo.IdempotencyInFlight)
			if got := errinfo.RetryAfter(err); got != tc.want {
				t.Errorf("retry delay %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRedisNeverStoresTheRawKey(t *testing.T) {
	client := requireRedis(t)
	prefix := testPrefix(t, client)
	svc := &orders{}
	srv := NewServer(testTable(time.Hour, 10*time.Second), newRedisStore(t, client, redisstore.WithKeyPrefix(prefix)))
	conn := startServer(t, svc, srv.UnaryServerInterceptor())
	const secret = "alice@example.com"
	if _, err := invoke(withKey(`"`+secret+`"`), conn, methodPay, mustStruct(t, map[string]any{"amount": 1.0})); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	keys, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := prefix + DeriveKey("", methodPay, secret).String()
	if len(keys) != 1 || keys[0] != want {
		t.Fatalf("keys %q, want [%q]", keys, want)
	}
	value, err := client.Get(ctx, want).Result()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains([]byte(keys[0]+value), []byte(secret)) {
		t.Errorf("the raw key %q is stored in redis", secret)
	}
}

func TestForeignRedisValueFailsClosed(t *testing.T) {
	client := requireRedis(t)
	prefix := testPrefix(t, client)
	svc := &orders{}
	srv := NewServer(testTable(time.Hour, 10*time.Second), newRedisStore(t, client, redisstore.WithKeyPrefix(prefix)))
	conn := startServer(t, svc, srv.UnaryServerInterceptor())
	if err := client.Set(context.Background(), prefix+DeriveKey("", methodPay, "k").String(), "not a govern record", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := invoke(withKey("k"), conn, methodPay, &structpb.Struct{})
	wantReason(t, err, codes.Unavailable, errinfo.IdempotencyStoreUnavailable)
	wantRuns(t, svc, 0)
}

func TestStreamingAndDisabledMethodsAreNotGoverned(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	idem := &policy.Idempotency{Required: true}
	table := policy.Table{
		"/s.S/Watch":    {FullMethod: "/s.S/Watch", ServerStreaming: true, Idempotency: idem},
		"/s.S/Upload":   {FullMethod: "/s.S/Upload", ClientStreaming: true, Idempotency: idem},
		"/s.S/Disabled": {FullMethod: "/s.S/Disabled", Disabled: true, Idempotency: idem},
		"/s.S/Nil":      nil,
	}
	srv := NewServer(table, NewMemoryStore(), WithRegisterer(reg))
	if governed := GovernedMethods(srv); len(governed) != 0 {
		t.Errorf("governed methods %v, want none", governed)
	}
	ran := false
	_, err := srv.UnaryServerInterceptor()(context.Background(), &structpb.Struct{}, &grpc.UnaryServerInfo{FullMethod: "/s.S/Disabled"},
		func(context.Context, any) (any, error) { ran = true; return &structpb.Struct{}, nil })
	if err != nil || !ran {
		t.Errorf("disabled method: ran=%v err=%v, want it run without a key", ran, err)
	}
}

func TestWithTransientCodesReplacesTheSet(t *testing.T) {
	svc := &orders{}
	var code atomic.Uint32
	svc.behave = func(context.Context, int64, *structpb.Struct) (*structpb.Struct, error) {
		return nil, status.Error(codes.Code(code.Load()), "failed")
	}
	srv := NewServer(testTable(time.Hour, 10*time.Second), NewMemoryStore(), WithTransientCodes(codes.NotFound))
	cases := []struct {
		code     codes.Code
		wantRuns int64 // after two calls with one key
	}{
		{codes.NotFound, 2},    // now transient: released, runs again
		{codes.Unavailable, 1}, // no longer transient: stored, replayed
	}
	for _, tc := range cases {
		code.Store(uint32(tc.code))
		svc.runs.Store(0)
		key := "k-" + tc.code.String()
		for range 2 {
			if _, err := callDirect(context.Background(), srv, key, &structpb.Struct{}, svc); status.Code(err) != tc.code {
				t.Fatalf("%v: err = %v", tc.code, err)
			}
		}
		if got := svc.runs.Load(); got != tc.wantRuns {
			t.Errorf("%v: %d runs, want %d", tc.code, got, tc.wantRuns)
		}
	}
}

func TestStoreFailureLogsAreSpacedOut(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	faulty := &faultyStore{Store: NewMemoryStore()}
	faulty.down.Store(true)
	reg := prometheus.NewPedanticRegistry()
	// A stopped clock: the 50 failures fall in one log interval however
	// slow the machine.
	now := time.Now()
	srv := NewServer(testTable(time.Hour, 10*time.Second), faulty, WithLogger(logger), WithRegisterer(reg),
		WithClock(func() time.Time { return now }))
	for range 50 {
		_, err := callDirect(context.Background(), srv, "k", &structpb.Struct{}, &orders{})
		wantReason(t, err, codes.Unavailable, errinfo.IdempotencyStoreUnavailable)
	}
	mu.Lock()
	lines := bytes.Count(buf.Bytes(), []byte("\n"))
	mu.Unlock()
	if lines != 1 {
		t.Errorf("%d log lines for 50 failures within a second, want 1", lines)
	}
	if got := counterValue(t, reg, methodPay, ResultStoreError); got != 50 {
		t.Errorf("store_error = %v, want every failure counted", got)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A result the store does not take before the claim's lease ends is lost:
// the server retries it until then, and when it gives up it counts the
// call as result_lost (and logs it, not rate-limited), because the next
// retry of the key runs the handler again, which the test shows too.
func TestResultLostAtLeaseEndIsCounted(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	var buf bytes.Buffer
	var mu sync.Mutex
	logged := func() string { mu.Lock(); defer mu.Unlock(); return buf.String() }
	store := &faultyStore{Store: NewMemoryStore()}
	svc := &orders{}
	svc.behave = func(_ context.Context, n int64, _ *structpb.Struct) (*structpb.Struct, error) {
		store.down.Store(n == 1) // the store goes away while the first run works
		return mustStruct(t, map[string]any{"run": float64(n)}), nil
	}
	const lease = time.Second
	srv := NewServer(testTable(time.Hour, lease), store, WithRegisterer(reg), WithLogger(slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil))))
	conn := startServer(t, svc, srv.UnaryServerInterceptor())
	req := mustStruct(t, map[string]any{"amount": 1.0})

	began := time.Now()
	if resp, err := invoke(withKey("lost"), conn, methodPay, req); err != nil || resp.AsMap()["run"] != 1.0 {
		t.Fatalf("first call: %v %v", resp, err)
	}
	if got := counterValue(t, reg, methodPay, ResultLost); got != 0 {
		t.Fatalf("result_lost = %v while the lease runs, want 0", got)
	}
	waitFor(t, func() bool { return counterValue(t, reg, methodPay, ResultLost) == 1 })
	if waited := time.Since(began); waited < lease*7/10 {
		t.Errorf("gave up after %v, before the %v lease was nearly over", waited, lease)
	}
	if !strings.Contains(logged(), "will run the handler again") || !strings.Contains(logged(), errStoreDown.Error()) {
		t.Errorf("no log line for the lost result: %s", logged())
	}

	store.down.Store(false)
	time.Sleep(time.Until(began.Add(lease + 100*time.Millisecond)))
	if resp, err := invoke(withKey("lost"), conn, methodPay, req); err != nil || resp.AsMap()["run"] != 2.0 {
		t.Fatalf("retry after the lease: %v %v, want the handler run again", resp, err)
	}
	wantRuns(t, svc, 2)
}

// A handler that outlives its lease (it ignores its context) while a retry
// takes the key and runs too: its result is not stored over the other
// call's, and it counts as result_lost. A late result on a key nobody took
// meanwhile is stored, and the next retry replays it.
func TestLateResult(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	svc := &orders{}
	release := make(chan struct{})
	svc.behave = func(_ context.Context, n int64, _ *structpb.Struct) (*structpb.Struct, error) {
		if n == 1 {
			<-release // ignores its context
		}
		return mustStruct(t, map[string]any{"run": float64(n)}), nil
	}
	const lease = 300 * time.Millisecond
	srv := NewServer(testTable(time.Hour, lease), NewMemoryStore(), WithRegisterer(reg))
	conn := startServer(t, svc, srv.UnaryServerInterceptor())
	req := mustStruct(t, map[string]any{"amount": 1.0})

	first := make(chan error, 1)
	go func() {
		_, err := invoke(withKey("late"), conn, methodPay, req)
		first <- err
	}()
	waitFor(t, func() bool { return svc.runs.Load() == 1 })
	time.Sleep(lease + 50*time.Millisecond)
	if resp, err := invoke(withKey("late"), conn, methodPay, req); err != nil || resp.AsMap()["run"] != 2.0 {
		t.Fatalf("retry after the lease: %v %v, want a second run", resp, err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got := counterValue(t, reg, methodPay, ResultLost); got != 1 {
		t.Errorf("result_lost = %v, want 1 for the first run's result", got)
	}
	if resp, err := invoke(withKey("late"), conn, methodPay, req); err != nil || resp.AsMap()["run"] != 2.0 {
		t.Errorf("replay: %v %v, want the second run's result", resp, err)
	}

	// Nobody takes the key while the first run is late: its result is kept.
	svc.runs.Store(0)
	release = make(chan struct{})
	go func() {
		_, err := invoke(withKey("late-alone"), conn, methodPay, req)
		first <- err
	}()
	waitFor(t, func() bool { return svc.runs.Load() == 1 })
	time.Sleep(lease + 50*time.Millisecond)
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if resp, err := invoke(withKey("late-alone"), conn, methodPay, req); err != nil || resp.AsMap()["run"] != 1.0 {
		t.Errorf("retry after a late result on a free key: %v %v, want the replay of run 1", resp, err)
	}
	wantRuns(t, svc, 1)
}
