package idempotency_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/govkit/govern/internal/redistest"
	. "github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/idempotency/redisstore"
	"github.com/govkit/govern/runtime/policy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The test service: /govern.test.v1.Orders with three unary methods over
// structpb.Struct, registered through a hand-written ServiceDesc.
const (
	testService = "govern.test.v1.Orders"
	// methodCreate requires a key and derives it from client_id, order_sn.
	methodCreate = "/" + testService + "/Create"
	// methodPay requires a key sent in metadata.
	methodPay = "/" + testService + "/Pay"
	// methodNote accepts an optional key.
	methodNote = "/" + testService + "/Note"
	// methodPlain has no idempotency policy.
	methodPlain = "/" + testService + "/Plain"
)

// structKey is the typed extractor protoc-gen-govern would generate for
// key_fields ["client_id", "order_sn"].
func structKey(req any) (string, bool) {
	s, ok := req.(*structpb.Struct)
	if !ok {
		return "", false
	}
	c, sn := s.GetFields()["client_id"].GetStringValue(), s.GetFields()["order_sn"].GetStringValue()
	if c == "" || sn == "" {
		return "", false
	}
	return policy.JoinKey(c, sn), true
}

func testTable(ttl, lease time.Duration) policy.Table {
	method := func(full, name string, idem *policy.Idempotency) *policy.Method {
		return &policy.Method{FullMethod: full, Service: testService, Name: name, Timeout: 5 * time.Second, Idempotency: idem}
	}
	return policy.Table{
		methodCreate: method(methodCreate, "Create", &policy.Idempotency{Required: true, KeyFields: []string{"client_id", "order_sn"}, Key: structKey, TTL: ttl, Lease: lease}),
		methodPay:    method(methodPay, "Pay", &policy.Idempotency{Required: true, TTL: ttl, Lease: lease}),
		methodNote:   method(methodNote, "Note", &policy.Idempotency{TTL: ttl, Lease: lease}),
		methodPlain:  method(methodPlain, "Plain", nil),
	}
}

// orders is the test handler. Each run returns a new order id, so a replay
// is told apart from a second run.
type orders struct {
	runs atomic.Int64
	// behave, when set, decides the outcome of run n (1-based).
	behave func(ctx context.Context, n int64, req *structpb.Struct) (*structpb.Struct, error)
	delay  time.Duration

	mu       sync.Mutex
	produced []*structpb.Struct
}

func (o *orders) handle(ctx context.Context, req *structpb.Struct) (*structpb.Struct, error) {
	n := o.runs.Add(1)
	if o.delay > 0 {
		select {
		case <-time.After(o.delay):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	if o.behave != nil {
		resp, err := o.behave(ctx, n, req)
		if resp != nil {
			o.record(resp)
		}
		return resp, err
	}
	resp, err := structpb.NewStruct(map[string]any{
		"order_id": "order-" + randomHex(8),
		"run":      float64(n),
		"echo":     req.AsMap(),
	})
	if err != nil {
		return nil, err
	}
	o.record(resp)
	return resp, nil
}

func (o *orders) record(resp *structpb.Struct) {
	o.mu.Lock()
	o.produced = append(o.produced, resp)
	o.mu.Unlock()
}

func (o *orders) lastProduced(t *testing.T) *structpb.Struct {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.produced) == 0 {
		t.Fatal("the handler produced no response")
	}
	return o.produced[len(o.produced)-1]
}

func unaryHandler(fullMethod string) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		in := new(structpb.Struct)
		if err := dec(in); err != nil {
			return nil, err
		}
		call := func(ctx context.Context, req any) (any, error) {
			return srv.(*orders).handle(ctx, req.(*structpb.Struct))
		}
		if interceptor == nil {
			return call(ctx, in)
		}
		return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod}, call)
	}
}

var ordersDesc = grpc.ServiceDesc{
	ServiceName: testService,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Create", Handler: unaryHandler(methodCreate)},
		{MethodName: "Pay", Handler: unaryHandler(methodPay)},
		{MethodName: "Note", Handler: unaryHandler(methodNote)},
		{MethodName: "Plain", Handler: unaryHandler(methodPlain)},
	},
}

// recoverInterceptor stands in for the chain's recovery interceptor.
func recoverInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = status.Errorf(codes.Internal, "panic: %v", r)
		}
	}()
	return handler(ctx, req)
}

// startServer serves svc on 127.0.0.1 behind interceptors and returns a
// client connection to it. Both are stopped at cleanup.
func startServer(t *testing.T, svc *orders, interceptors ...grpc.UnaryServerInterceptor) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(append([]grpc.UnaryServerInterceptor{recoverInterceptor}, interceptors...)...))
	srv.RegisterService(&ordersDesc, svc)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		<-served
	})
	return conn
}

func invoke(ctx context.Context, conn *grpc.ClientConn, method string, req *structpb.Struct, opts ...grpc.CallOption) (*structpb.Struct, error) {
	resp := new(structpb.Struct)
	if err := conn.Invoke(ctx, method, req, resp, opts...); err != nil {
		return nil, err
	}
	return resp, nil
}

func mustStruct(t testing.TB, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wire(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// requireRedis returns a client of the test Redis (internal/redistest)
// that does not retry, so fault tests see each failure.
func requireRedis(t testing.TB, opts ...func(*redis.Options)) *redis.Client {
	t.Helper()
	return redistest.Client(t, append([]func(*redis.Options){func(o *redis.Options) { o.MaxRetries = -1 }}, opts...)...)
}

// testPrefix returns a key prefix unique to the test whose keys are deleted
// at cleanup.
func testPrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	prefix := "govern:test:idem:" + randomHex(6) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// faultyStore fails every call while down is set.
type faultyStore struct {
	Store
	down atomic.Bool
}

var errStoreDown = errors.New("test store is down")

func (f *faultyStore) Claim(ctx context.Context, key Key, claim Record, lease time.Duration) (Record, bool, error) {
	if f.down.Load() {
		return Record{}, false, errStoreDown
	}
	return f.Store.Claim(ctx, key, claim, lease)
}

func (f *faultyStore) Finish(ctx context.Context, key Key, owner Owner, result Record, ttl time.Duration) error {
	if f.down.Load() {
		return errStoreDown
	}
	return f.Store.Finish(ctx, key, owner, result, ttl)
}

func (f *faultyStore) Release(ctx context.Context, key Key, owner Owner) error {
	if f.down.Load() {
		return errStoreDown
	}
	return f.Store.Release(ctx, key, owner)
}

// newRedisStore returns a Redis store over c, failing the test on a bad
// option.
func newRedisStore(t testing.TB, c redis.UniversalClient, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tooSlow ends a test whose timing assumption did not hold (the machine was
// too slow for a real-time TTL or lease): a skip on a developer's machine, a
// failure under CI, where a test that skips proves nothing.
func tooSlow(t *testing.T, what string) {
	t.Helper()
	msg := "the machine is too slow: " + what
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; under CI this is a failure, not a skip")
	}
	t.Skip(msg)
}
