package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/internal/redistest"
	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/policy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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

func TestLocalBurst(t *testing.T) {
	tests := []struct {
		name  string
		p     policy.RateLimit
		burst int
	}{
		{"explicit burst", policy.RateLimit{RPS: 1, Burst: 5}, 5},
		{"burst defaults to ceil(rps)", policy.RateLimit{RPS: 2.5}, 3},
		{"distributed without redis counts locally", policy.RateLimit{RPS: 1, Burst: 2, Scope: policy.ScopeDistributed}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New("/t.S/M", tt.p)
			for i := range tt.burst {
				if err := l.Allow(context.Background()); err != nil {
					t.Fatalf("call %d of the burst rejected: %v", i+1, err)
				}
			}
			assertRateLimited(t, l.Allow(context.Background()))
		})
	}
}

func TestNoRateAdmitsAll(t *testing.T) {
	l := New("/t.S/M", policy.RateLimit{})
	for range 1000 {
		if err := l.Allow(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDistributedSharedAcrossReplicas(t *testing.T) {
	client := redistest.Client(t)
	prefix := uniquePrefix(t)
	p := policy.RateLimit{RPS: 0.5, Burst: 4, Scope: policy.ScopeDistributed}
	replicas := []*Limiter{
		New("/t.S/M", p, WithRedis(client), WithKeyPrefix(prefix), WithRedisTimeout(5*time.Second)),
		New("/t.S/M", p, WithRedis(client), WithKeyPrefix(prefix), WithRedisTimeout(5*time.Second)),
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
	l := New("/t.S/M", policy.RateLimit{RPS: 2, Burst: 1, Scope: policy.ScopeDistributed}, WithRedis(client), WithKeyPrefix(prefix), WithRedisTimeout(5*time.Second))
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

func TestDistributedFallsBackToLocal(t *testing.T) {
	tests := []struct {
		name          string
		retryAfter    time.Duration
		wantFallbacks int32
	}{
		{"retry Redis on every call", 0, 4},
		{"skip Redis for the retry interval", time.Hour, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Nothing listens on port 1: every Redis call fails fast.
			client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond,
				DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
			t.Cleanup(func() { _ = client.Close() })
			var fallbacks atomic.Int32
			l := New("/t.S/M", policy.RateLimit{RPS: 0.1, Burst: 3, Scope: policy.ScopeDistributed},
				WithRedis(client), WithRedisRetryAfter(tt.retryAfter), WithFallbackHook(func(err error) {
					if err == nil {
						t.Error("fallback hook called without an error")
					}
					fallbacks.Add(1)
				}))
			if !l.Distributed() {
				t.Fatal("limiter with a Redis client and DISTRIBUTED scope is not distributed")
			}
			for i := range 3 {
				if err := l.Allow(context.Background()); err != nil {
					t.Fatalf("call %d rejected with Redis down: %v", i+1, err)
				}
			}
			assertRateLimited(t, l.Allow(context.Background()))
			if fallbacks.Load() != tt.wantFallbacks {
				t.Fatalf("fallback hook called %d times, want %d", fallbacks.Load(), tt.wantFallbacks)
			}
		})
	}
}

func BenchmarkLocalAllow(b *testing.B) {
	l := New("/t.S/M", policy.RateLimit{RPS: 1e12, Burst: 1 << 30})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Allow(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
