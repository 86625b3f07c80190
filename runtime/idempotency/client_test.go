package idempotency_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	. "github.com/govkit/govern/runtime/idempotency"
)

// retryConfig makes gRPC retry UNAVAILABLE and ABORTED natively, below the
// client interceptor.
const retryConfig = `{"methodConfig":[{"name":[{"service":"govern.test.v1.Orders"}],
 "retryPolicy":{"maxAttempts":5,"initialBackoff":"0.01s","maxBackoff":"0.05s","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE","ABORTED"]}}]}`

// dialWithClientInterceptor serves svc behind serverInterceptors and dials
// it through UnaryClientInterceptor with native retries on.
func dialWithClientInterceptor(t *testing.T, svc *orders, serverInterceptors ...grpc.UnaryServerInterceptor) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(serverInterceptors...))
	srv.RegisterService(&ordersDesc, svc)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(retryConfig),
		grpc.WithUnaryInterceptor(UnaryClientInterceptor(testTable(time.Hour, 10*time.Second))),
	)
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

func TestClientKeyIsStableAcrossRetries(t *testing.T) {
	var mu sync.Mutex
	var seen [][]string // the key of every attempt, in order
	svc := &orders{}
	svc.behave = func(ctx context.Context, n int64, req *structpb.Struct) (*structpb.Struct, error) {
		mu.Lock()
		seen = append(seen, metadata.ValueFromIncomingContext(ctx, MetadataKey))
		mu.Unlock()
		if fails := req.AsMap()["fail_attempts"]; fails != nil && float64(n) <= fails.(float64) {
			return nil, status.Error(codes.Unavailable, "try again")
		}
		return &structpb.Struct{}, nil
	}
	conn := dialWithClientInterceptor(t, svc)
	take := func() [][]string {
		mu.Lock()
		defer mu.Unlock()
		out := seen
		seen = nil
		svc.runs.Store(0)
		return out
	}
	withFields := mustStruct(t, map[string]any{"client_id": "c", "order_sn": "s"})

	cases := []struct {
		name     string
		ctx      context.Context
		method   string
		req      *structpb.Struct
		attempts int
		// wantKey: "uuid" a generated UUIDv7 shared by every attempt; ""
		// none; else that exact key.
		wantKey string
	}{
		{"generated key survives native retries", context.Background(), methodPay, mustStruct(t, map[string]any{"fail_attempts": 2.0}), 3, "uuid"},
		{"caller key kept", withKey("mine-1"), methodPay, mustStruct(t, map[string]any{"fail_attempts": 1.0}), 2, "mine-1"},
		{"optional key generated too", context.Background(), methodNote, &structpb.Struct{}, 1, "uuid"},
		{"key fields need no key", context.Background(), methodCreate, withFields, 1, ""},
		{"key fields absent: generated", context.Background(), methodCreate, &structpb.Struct{}, 1, "uuid"},
		{"ungoverned method untouched", context.Background(), methodPlain, &structpb.Struct{}, 1, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := invoke(tc.ctx, conn, tc.method, tc.req); err != nil {
				t.Fatal(err)
			}
			got := take()
			if len(got) != tc.attempts {
				t.Fatalf("%d attempts reached the server, want %d", len(got), tc.attempts)
			}
			for i, keys := range got {
				switch {
				case tc.wantKey == "" && len(keys) != 0:
					t.Errorf("attempt %d carried %q, want no key", i, keys)
				case tc.wantKey != "" && len(keys) != 1:
					t.Fatalf("attempt %d carried %q, want one key", i, keys)
				case tc.wantKey == "uuid":
					id, err := uuid.Parse(keys[0])
					if err != nil || id.Version() != 7 {
						t.Errorf("attempt %d key %q is not a UUIDv7 (%v)", i, keys[0], err)
					}
					if keys[0] != got[0][0] {
						t.Errorf("attempt %d key %q differs from the first attempt's %q", i, keys[0], got[0][0])
					}
				case tc.wantKey != "" && keys[0] != tc.wantKey:
					t.Errorf("attempt %d key %q, want %q", i, keys[0], tc.wantKey)
				}
			}
		})
	}

	// Two logical calls get two keys.
	for range 2 {
		if _, err := invoke(context.Background(), conn, methodPay, &structpb.Struct{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := take(); len(got) != 2 || got[0][0] == got[1][0] {
		t.Errorf("two logical calls carried keys %q", got)
	}
}

// TestRetriedDuplicateGetsOriginalResponse wires both sides: a duplicate
// that arrives while the first call runs is rejected IN_FLIGHT, gRPC
// retries it after the server's pushback, and it receives the first call's
// response.
func TestRetriedDuplicateGetsOriginalResponse(t *testing.T) {
	svc := &orders{delay: 150 * time.Millisecond}
	srv := NewServer(testTable(time.Hour, 10*time.Second), NewMemoryStore(), WithMaxRetryDelay(300*time.Millisecond))
	conn := dialWithClientInterceptor(t, svc, srv.UnaryServerInterceptor())
	req := mustStruct(t, map[string]any{"amount": 7.0})

	first := make(chan *structpb.Struct, 1)
	go func() {
		resp, err := invoke(withKey("double-click"), conn, methodPay, req)
		if err != nil {
			t.Error(err)
		}
		first <- resp
	}()
	for svc.runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	second, err := invoke(withKey("double-click"), conn, methodPay, req)
	if err != nil {
		t.Fatalf("duplicate: %v", err)
	}
	if got, want := wire(t, second), wire(t, <-first); string(got) != string(want) {
		t.Errorf("duplicate got %v, want the original response", second)
	}
	wantRuns(t, svc, 1)
}
