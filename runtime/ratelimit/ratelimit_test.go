package ratelimit

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/policy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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

// stubStore is a ratelimit.Store whose answer the test controls.
type stubStore struct {
	calls atomic.Int32
	admit func(ctx context.Context) (bool, time.Duration, error)
}

func (s *stubStore) Admit(ctx context.Context, _ string, _ float64, _ int) (bool, time.Duration, error) {
	s.calls.Add(1)
	return s.admit(ctx)
}

func errDown(context.Context) (bool, time.Duration, error) {
	return false, 0, errors.New("connection refused")
}

func TestDistributedFallsBackToLocal(t *testing.T) {
	tests := []struct {
		name          string
		retryAfter    time.Duration
		wantFallbacks int32
	}{
		{"retry the store on every call", 0, 4},
		{"skip the store for the retry interval", time.Hour, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fallbacks atomic.Int32
			l := New("/t.S/M", policy.RateLimit{RPS: 0.1, Burst: 3, Scope: policy.ScopeDistributed},
				WithStore(&stubStore{admit: errDown}), WithStoreRetryAfter(tt.retryAfter), WithFallbackHook(func(err error) {
					if err == nil {
						t.Error("fallback hook called without an error")
					}
					fallbacks.Add(1)
				}))
			if !l.Distributed() {
				t.Fatal("limiter with a store and DISTRIBUTED scope is not distributed")
			}
			for i := range 3 {
				if err := l.Allow(context.Background()); err != nil {
					t.Fatalf("call %d rejected with the store down: %v", i+1, err)
				}
			}
			assertRateLimited(t, l.Allow(context.Background()))
			if fallbacks.Load() != tt.wantFallbacks {
				t.Fatalf("fallback hook called %d times, want %d", fallbacks.Load(), tt.wantFallbacks)
			}
		})
	}
}

// A caller whose own context ends while the store is asked is not a store
// failure: it gets its context's status, and the next caller still asks the
// store instead of counting locally for the retry interval.
func TestCallerContextEndDoesNotTripFallback(t *testing.T) {
	tests := []struct {
		name string
		ctx  func(t *testing.T) context.Context
		want codes.Code
	}{
		{"cancelled", func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx
		}, codes.Canceled},
		{"deadline", func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, codes.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &stubStore{admit: func(ctx context.Context) (bool, time.Duration, error) {
				if _, ok := ctx.Value(answerNow{}).(bool); ok {
					return true, 0, nil
				}
				<-ctx.Done() // a store slower than the caller's patience
				return false, 0, ctx.Err()
			}}
			var fallbacks atomic.Int32
			l := New("/t.S/M", policy.RateLimit{RPS: 1, Burst: 1, Scope: policy.ScopeDistributed},
				WithStore(store), WithStoreTimeout(time.Hour), WithStoreRetryAfter(time.Hour),
				WithFallbackHook(func(error) { fallbacks.Add(1) }))
			if err := l.Allow(tt.ctx(t)); status.Code(err) != tt.want {
				t.Fatalf("caller whose context ended got %v, want %v", err, tt.want)
			}
			if n := fallbacks.Load(); n != 0 {
				t.Fatalf("the caller's own context end counted as %d store failures", n)
			}
			// The next caller must reach the store, not the local limiter.
			for i := range 3 {
				if err := l.Allow(context.WithValue(context.Background(), answerNow{}, true)); err != nil {
					t.Fatalf("call %d after the cancelled one: %v (counted locally: the store was marked down)", i+1, err)
				}
			}
			if got := store.calls.Load(); got != 4 {
				t.Fatalf("store asked %d times, want 4: the calls after the cancelled one skipped it", got)
			}
		})
	}
}

// answerNow makes stubStore answer at once in TestCallerContextEndDoesNotTripFallback.
type answerNow struct{}

// A store slower than the store timeout is a store failure: the caller is
// admitted by the local limiter and the fallback is counted.
func TestSlowStoreTripsFallback(t *testing.T) {
	store := &stubStore{admit: func(ctx context.Context) (bool, time.Duration, error) {
		<-ctx.Done()
		return false, 0, ctx.Err()
	}}
	var fallbacks atomic.Int32
	l := New("/t.S/M", policy.RateLimit{RPS: 1, Burst: 1, Scope: policy.ScopeDistributed},
		WithStore(store), WithStoreTimeout(10*time.Millisecond), WithStoreRetryAfter(time.Hour),
		WithFallbackHook(func(error) { fallbacks.Add(1) }))
	if err := l.Allow(context.Background()); err != nil {
		t.Fatalf("call with a slow store was not admitted locally: %v", err)
	}
	if fallbacks.Load() != 1 {
		t.Fatalf("fallbacks = %d, want 1", fallbacks.Load())
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
