package client

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/retry/retrytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func retryPolicy(adaptive bool) *policy.Retry {
	return &policy.Retry{MaxAttempts: 4, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		Multiplier: 2, Codes: []codes.Code{codes.Unavailable}, Adaptive: adaptive}
}

// keyedTable: Create deduplicates by idempotency key and retries; Get is a
// plain read with no retry; Watch streams.
func keyedTable(adaptive bool) policy.Table {
	return policy.Table{
		retrytest.Create: {FullMethod: retrytest.Create, Timeout: 2 * time.Second,
			Idempotency: &policy.Idempotency{TTL: time.Hour, Lease: 10 * time.Second}, Retry: retryPolicy(adaptive)},
		retrytest.Get:   {FullMethod: retrytest.Get, IdempotencyLevel: policy.NoSideEffects},
		retrytest.Watch: {FullMethod: retrytest.Watch, ServerStreaming: true, IdempotencyLevel: policy.NoSideEffects},
	}
}

var paths = []struct {
	name     string
	adaptive bool
}{{"native", false}, {"adaptive", true}}

func start(t *testing.T, script retrytest.Script) *retrytest.Server {
	t.Helper()
	srv, err := retrytest.Start(script)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func dial(t *testing.T, addr string, table policy.Table, opts ...Option) *grpc.ClientConn {
	t.Helper()
	dopts, err := DialOptions(table, opts...)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(addr, append(dopts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func failFirst(n int, code codes.Code) retrytest.Script {
	return func(_ context.Context, a retrytest.Attempt) (string, error) {
		if a.N <= n {
			return "", status.Errorf(code, "scripted failure %d", a.N)
		}
		return "ok", nil
	}
}

func alwaysFail(code codes.Code) retrytest.Script {
	return func(context.Context, retrytest.Attempt) (string, error) {
		return "", status.Error(code, "scripted outage")
	}
}

func TestRetriedAttemptsCarryOneIdempotencyKey(t *testing.T) {
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			var mu sync.Mutex
			failures := map[string]int{} // per request: fail its first two attempts
			srv := start(t, func(_ context.Context, a retrytest.Attempt) (string, error) {
				mu.Lock()
				defer mu.Unlock()
				if failures[a.Request] < 2 {
					failures[a.Request]++
					return "", status.Error(codes.Unavailable, "flaky")
				}
				return "created " + a.Request, nil
			})
			cc := dial(t, srv.Addr, keyedTable(p.adaptive))
			for _, req := range []string{"order-1", "order-2"} {
				if got, err := retrytest.Call(t.Context(), cc, retrytest.Create, req); err != nil || got != "created "+req {
					t.Fatalf("Call(%s) = %q, %v", req, got, err)
				}
			}
			keys := map[string]map[string]bool{}
			for _, a := range srv.Log() {
				k := a.Metadata.Get(idempotency.MetadataKey)
				if len(k) != 1 || k[0] == "" {
					t.Fatalf("attempt %d of %s carried key %q, want exactly one", a.N, a.Request, k)
				}
				if keys[a.Request] == nil {
					keys[a.Request] = map[string]bool{}
				}
				keys[a.Request][k[0]] = true
			}
			if n := srv.Attempts(retrytest.Create); n != 6 {
				t.Errorf("server saw %d attempts, want 3 per call", n)
			}
			for req, ks := range keys {
				if len(ks) != 1 {
					t.Errorf("the attempts of %s carried %d different keys, want 1", req, len(ks))
				}
			}
			if keys["order-1"] != nil && keys["order-2"] != nil {
				for k := range keys["order-1"] {
					if keys["order-2"][k] {
						t.Error("two logical calls shared one key")
					}
				}
			}
		})
	}
}

func TestNonIdempotentMethodIsNeverRetried(t *testing.T) {
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			srv := start(t, alwaysFail(codes.Unavailable))
			table := policy.Table{
				retrytest.Get:    {FullMethod: retrytest.Get, IdempotencyLevel: policy.Idempotent, Retry: retryPolicy(p.adaptive)},
				retrytest.Create: {FullMethod: retrytest.Create},
			}
			cc := dial(t, srv.Addr, table)
			if _, err := retrytest.Call(t.Context(), cc, retrytest.Create, "x"); status.Code(err) != codes.Unavailable {
				t.Fatalf("err = %v", err)
			}
			if n := srv.Attempts(retrytest.Create); n != 1 {
				t.Errorf("non-idempotent Create: %d attempts, want 1", n)
			}
			if _, err := retrytest.Call(t.Context(), cc, retrytest.Get, "x"); status.Code(err) != codes.Unavailable {
				t.Fatalf("err = %v", err)
			}
			if n := srv.Attempts(retrytest.Get); n != 4 {
				t.Errorf("idempotent Get: %d attempts, want 4 (control)", n)
			}
		})
	}
}

func TestDialOptionsRefusesUnsafeRetries(t *testing.T) {
	plain := policy.Table{retrytest.Create: {FullMethod: retrytest.Create}, retrytest.Get: {FullMethod: retrytest.Get, IdempotencyLevel: policy.NoSideEffects}}
	cases := []struct {
		name  string
		table policy.Table
		opts  []Option
		want  string
	}{
		{"native retry in table", policy.Table{retrytest.Create: {FullMethod: retrytest.Create, Retry: retryPolicy(false)}}, nil, "not idempotent"},
		{"adaptive retry in table", policy.Table{retrytest.Create: {FullMethod: retrytest.Create, Retry: retryPolicy(true)}}, nil, "not idempotent"},
		{"caller override", plain, []Option{WithRetry(retrytest.Create, *retryPolicy(true))}, "not idempotent"},
		{"caller override of unknown method", plain, []Option{WithRetry("/x.Y/Z", *retryPolicy(false))}, "not in the policy table"},
		{"bad budget", plain, []Option{WithRetryBudget(0, 0.1)}, "max tokens"},
		{"bad alpha", plain, []Option{WithAlpha(-3)}, "alpha"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DialOptions(c.table, c.opts...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("DialOptions error = %v, want one containing %q", err, c.want)
			}
		})
	}
	t.Run("error names the method", func(t *testing.T) {
		_, err := DialOptions(plain, WithRetry(retrytest.Create, *retryPolicy(false)))
		if err == nil || !strings.Contains(err.Error(), retrytest.Create) {
			t.Fatalf("err = %v, want it to name %s", err, retrytest.Create)
		}
	})
	t.Run("override turning retries off is allowed", func(t *testing.T) {
		if _, err := DialOptions(plain, WithRetry(retrytest.Create, policy.Retry{})); err != nil {
			t.Fatal(err)
		}
	})
}

func TestWithRetryMakesAReadRetry(t *testing.T) {
	table := keyedTable(false)
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			srv := start(t, failFirst(2, codes.Unavailable))
			cc := dial(t, srv.Addr, table, WithRetry(retrytest.Get, *retryPolicy(p.adaptive)))
			if _, err := retrytest.Call(t.Context(), cc, retrytest.Get, "x"); err != nil {
				t.Fatal(err)
			}
			if n := srv.Attempts(retrytest.Get); n != 3 {
				t.Errorf("attempts = %d, want 3", n)
			}
		})
	}
	if table[retrytest.Get].Retry != nil {
		t.Error("WithRetry modified the caller's table")
	}
}

func TestPushbackStopIsHonoured(t *testing.T) {
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			srv := start(t, func(ctx context.Context, _ retrytest.Attempt) (string, error) {
				retrytest.Pushback(ctx, "-1")
				return "", status.Error(codes.Unavailable, "shedding load")
			})
			cc := dial(t, srv.Addr, keyedTable(p.adaptive))
			if _, err := retrytest.Call(t.Context(), cc, retrytest.Create, "x"); status.Code(err) != codes.Unavailable {
				t.Fatalf("err = %v", err)
			}
			if n := srv.Attempts(retrytest.Create); n != 1 {
				t.Errorf("attempts = %d after a stop pushback, want 1", n)
			}
		})
	}
}

func TestBudgetStopsARetryStorm(t *testing.T) {
	const calls = 100
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			srv := start(t, alwaysFail(codes.Unavailable))
			cc := dial(t, srv.Addr, keyedTable(p.adaptive))
			for range calls {
				if _, err := retrytest.Call(t.Context(), cc, retrytest.Create, "x"); status.Code(err) != codes.Unavailable {
					t.Fatalf("err = %v", err)
				}
			}
			if n, limit := srv.Attempts(retrytest.Create), calls*11/10; n > limit {
				t.Errorf("%d calls under a total outage made %d attempts; want at most %d", calls, n, limit)
			}
		})
	}
}

func TestPerAttemptTimeout(t *testing.T) {
	table := policy.Table{retrytest.Get: {FullMethod: retrytest.Get, IdempotencyLevel: policy.NoSideEffects, Timeout: 100 * time.Millisecond,
		Retry: &policy.Retry{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, Multiplier: 2,
			Codes: []codes.Code{codes.Unavailable, codes.DeadlineExceeded}, Adaptive: true}}}
	var mu sync.Mutex
	var budgets []time.Duration
	srv := start(t, func(ctx context.Context, a retrytest.Attempt) (string, error) {
		if dl, ok := ctx.Deadline(); ok {
			mu.Lock()
			budgets = append(budgets, time.Until(dl))
			mu.Unlock()
		}
		if a.N == 1 {
			<-ctx.Done() // the first attempt hangs until its own deadline
			return "", status.FromContextError(ctx.Err()).Err()
		}
		return "ok", nil
	})
	cc := dial(t, srv.Addr, table)
	if _, err := retrytest.Call(t.Context(), cc, retrytest.Get, "x"); err != nil {
		t.Fatalf("err = %v; the second attempt should have had its own 100ms", err)
	}
	log := srv.Log()
	if len(log) != 2 {
		t.Fatalf("attempts = %d, want 2", len(log))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(budgets) != 2 {
		t.Fatalf("%d of 2 attempts arrived with a deadline", len(budgets))
	}
	for i, b := range budgets {
		if b > 100*time.Millisecond {
			t.Errorf("attempt %d arrived with %v left, want at most the 100ms policy timeout", i+1, b)
		}
	}
}

func TestClientBreakerOpensWithoutNetworkCalls(t *testing.T) {
	cb := &policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 5, Window: time.Minute, OpenFor: time.Minute, HalfOpenRequests: 1}
	table := policy.Table{
		retrytest.Get:   {FullMethod: retrytest.Get, IdempotencyLevel: policy.NoSideEffects, CircuitBreaker: cb},
		retrytest.Watch: {FullMethod: retrytest.Watch, ServerStreaming: true, CircuitBreaker: cb},
	}
	broken := start(t, alwaysFail(codes.Internal))
	healthy := start(t, failFirst(0, codes.OK))
	dopts, err := DialOptions(table)
	if err != nil {
		t.Fatal(err)
	}
	var ccs []*grpc.ClientConn
	for _, addr := range []string{broken.Addr, healthy.Addr} {
		cc, err := grpc.NewClient(addr, append(dopts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cc.Close() })
		ccs = append(ccs, cc)
	}
	for range 5 {
		_, _ = retrytest.Call(t.Context(), ccs[0], retrytest.Get, "x")
		_, _ = retrytest.WatchAll(t.Context(), ccs[0], "x")
	}
	for _, m := range []string{retrytest.Get, retrytest.Watch} {
		if n := broken.Attempts(m); n != 5 {
			t.Fatalf("%s: %d attempts before the breaker opened, want 5", m, n)
		}
	}
	_, err = retrytest.Call(t.Context(), ccs[0], retrytest.Get, "x")
	if status.Code(err) != codes.Unavailable || !errinfo.Is(err, errinfo.CircuitOpen) {
		t.Fatalf("err = %v, want UNAVAILABLE CIRCUIT_OPEN", err)
	}
	if errinfo.RetryAfter(err) <= 0 {
		t.Error("CIRCUIT_OPEN carries no RetryInfo delay")
	}
	if _, err := retrytest.WatchAll(t.Context(), ccs[0], "x"); !errinfo.Is(err, errinfo.CircuitOpen) {
		t.Fatalf("stream err = %v, want CIRCUIT_OPEN", err)
	}
	if n := broken.Attempts(retrytest.Get) + broken.Attempts(retrytest.Watch); n != 10 {
		t.Errorf("an open breaker let %d calls reach the server, want none", n-10)
	}
	// The breaker is per target: the same method on another target works.
	if _, err := retrytest.Call(t.Context(), ccs[1], retrytest.Get, "x"); err != nil {
		t.Fatalf("healthy target: %v", err)
	}
	if got, err := retrytest.WatchAll(t.Context(), ccs[1], "x"); err != nil || len(got) != 2 {
		t.Fatalf("healthy target stream: %v, %v", got, err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv := start(t, func(_ context.Context, a retrytest.Attempt) (string, error) {
		if a.Method == retrytest.Get || a.Method == retrytest.Create && a.N == 1 {
			return "", status.Error(codes.Unavailable, "scripted failure")
		}
		return "ok", nil
	})
	table := keyedTable(true)
	cc := dial(t, srv.Addr, table, WithRegisterer(reg))
	// A second client on the same registry shares the collectors.
	cc2 := dial(t, srv.Addr, table, WithRegisterer(reg))
	if _, err := retrytest.Call(t.Context(), cc, retrytest.Create, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := retrytest.Call(t.Context(), cc2, retrytest.Get, "x"); status.Code(err) != codes.Unavailable {
		t.Fatalf("Get (no retry, first attempt fails): err = %v", err)
	}
	if _, err := retrytest.WatchAll(t.Context(), cc2, "x"); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	const svc = retrytest.Service
	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{StartedTotal, map[string]string{"grpc_type": "unary", "grpc_service": svc, "grpc_method": "Create"}, 1},
		{HandledTotal, map[string]string{"grpc_type": "unary", "grpc_service": svc, "grpc_method": "Create", "grpc_code": "OK"}, 1},
		{HandlingSeconds, map[string]string{"grpc_type": "unary", "grpc_service": svc, "grpc_method": "Create"}, 1},
		{HandledTotal, map[string]string{"grpc_type": "unary", "grpc_service": svc, "grpc_method": "Get", "grpc_code": "Unavailable"}, 1},
		{HandledTotal, map[string]string{"grpc_type": "server_stream", "grpc_service": svc, "grpc_method": "Watch", "grpc_code": "OK"}, 1},
		{RetryAttempts, map[string]string{"grpc_method": retrytest.Create, "outcome": "retried"}, 1},
		{RetryAttempts, map[string]string{"grpc_method": retrytest.Create, "outcome": "ok"}, 1},
	}
	for _, w := range want {
		if got, ok := value(families, w.name, w.labels); !ok || got != w.value {
			t.Errorf("%s%v = %v (found %v), want %v", w.name, w.labels, got, ok, w.value)
		}
	}
}

// value finds the series of name with exactly labels and returns its
// counter value or histogram sample count.
func value(families []*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount()), true
			}
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

func TestWithThrottling(t *testing.T) {
	in := `{"methodConfig":[{"name":[{"service":"s.S","method":"M"}],"timeout":"1s"}],"retryThrottling":{"maxTokens":10,"tokenRatio":0.1}}`
	out, err := withThrottling(in, 50, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		MethodConfig    []json.RawMessage
		RetryThrottling struct{ MaxTokens, TokenRatio float64 }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.RetryThrottling.MaxTokens != 50 || doc.RetryThrottling.TokenRatio != 0.5 || len(doc.MethodConfig) != 1 {
		t.Errorf("withThrottling = %s", out)
	}
	if out, _ := withThrottling(`{}`, 50, 0.5); out != `{}` {
		t.Errorf("throttling added to a config without retries: %s", out)
	}
}

// TestNativeRetryAttemptsAreCounted: gRPC retries below the interceptors,
// yet every attempt shows in govern_retry_attempts_total.
func TestNativeRetryAttemptsAreCounted(t *testing.T) {
	cases := []struct {
		name   string
		script retrytest.Script
		calls  int
		want   map[string]float64 // outcome -> count
	}{
		{"fails twice then ok", failFirst(2, codes.Unavailable), 1, map[string]float64{"retried": 2, "ok": 1}},
		{"exhausted", alwaysFail(codes.Unavailable), 1, map[string]float64{"retried": 3, "exhausted": 1}},
		{"not retryable", alwaysFail(codes.InvalidArgument), 1, map[string]float64{"not_retryable": 1}},
		// 10 tokens: the first call's 4 failures leave 6; the second call's
		// first failure leaves 5, half: gRPC stops it, and every later one.
		{"throttled", alwaysFail(codes.Unavailable), 4, map[string]float64{"retried": 3, "exhausted": 1, "stopped": 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			srv := start(t, c.script)
			cc := dial(t, srv.Addr, keyedTable(false), WithRegisterer(reg))
			for range c.calls {
				_, _ = retrytest.Call(t.Context(), cc, retrytest.Create, "x")
			}
			families, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			total := 0.0
			for outcome, want := range c.want {
				got, _ := value(families, RetryAttempts, map[string]string{"grpc_method": retrytest.Create, "outcome": outcome})
				if got != want {
					t.Errorf("outcome %s = %v, want %v", outcome, got, want)
				}
				total += want
			}
			if n := srv.Attempts(retrytest.Create); float64(n) != total {
				t.Errorf("server saw %d attempts, metrics counted %v", n, total)
			}
		})
	}
}

// TestMetricsOnAWrappedRegisterer: the governor wraps its registerer with
// the service/env/region labels; several clients share it.
func TestMetricsOnAWrappedRegisterer(t *testing.T) {
	reg := prometheus.NewRegistry()
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"service": "orders", "env": "test", "region": "eu"}, reg)
	srv := start(t, failFirst(0, codes.OK))
	cc1 := dial(t, srv.Addr, keyedTable(true), WithRegisterer(wrapped))
	cc2 := dial(t, srv.Addr, keyedTable(true), WithRegisterer(wrapped))
	for _, cc := range []*grpc.ClientConn{cc1, cc2} {
		if _, err := retrytest.Call(t.Context(), cc, retrytest.Get, "x"); err != nil {
			t.Fatal(err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"grpc_type": "unary", "grpc_service": retrytest.Service, "grpc_method": "Get",
		"service": "orders", "env": "test", "region": "eu"}
	if got, ok := value(families, StartedTotal, labels); !ok || got != 2 {
		t.Errorf("%s%v = %v (found %v), want 2 from two clients", StartedTotal, labels, got, ok)
	}
}

func TestWithoutBreakers(t *testing.T) {
	cb := &policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 2, Window: time.Minute, OpenFor: time.Minute}
	table := policy.Table{retrytest.Get: {FullMethod: retrytest.Get, IdempotencyLevel: policy.NoSideEffects, CircuitBreaker: cb}}
	srv := start(t, alwaysFail(codes.Internal))
	cc := dial(t, srv.Addr, table, WithoutBreakers())
	for range 10 {
		if _, err := retrytest.Call(t.Context(), cc, retrytest.Get, "x"); errinfo.Is(err, errinfo.CircuitOpen) {
			t.Fatal("a breaker opened although WithoutBreakers was given")
		}
	}
	if n := srv.Attempts(retrytest.Get); n != 10 {
		t.Errorf("attempts = %d, want 10", n)
	}
}

func TestEmptyTableDialsPlainly(t *testing.T) {
	srv := start(t, failFirst(0, codes.OK))
	cc := dial(t, srv.Addr, nil, WithAlpha(0), WithRetryBudget(20, 0.5))
	if got, err := retrytest.Call(t.Context(), cc, retrytest.Get, "x"); err != nil || got != "ok" {
		t.Fatalf("Call = %q, %v", got, err)
	}
}

// TestForGatewayForwardsKeysAndNeverMints: a gateway connection sends the
// caller's key unchanged on every attempt, sends none when the caller has
// none, and does not retry a method that only a key it may not have makes
// retry safe. A method whose key is required keeps its retries.
func TestForGatewayForwardsKeysAndNeverMints(t *testing.T) {
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string]bool{} // per request: fail its first attempt
			srv := start(t, func(_ context.Context, a retrytest.Attempt) (string, error) {
				mu.Lock()
				defer mu.Unlock()
				if !seen[a.Request] {
					seen[a.Request] = true
					return "", status.Error(codes.Unavailable, "flaky")
				}
				return "ok", nil
			})
			table := keyedTable(p.adaptive) // Create: key optional, retried
			write := *table[retrytest.Create]
			write.FullMethod = retrytest.Get // Get's wire method stands in for a required-key write
			write.Idempotency = &policy.Idempotency{Required: true, TTL: time.Hour, Lease: 10 * time.Second}
			table[retrytest.Get] = &write
			cc := dial(t, srv.Addr, table, ForGateway())

			if _, err := retrytest.Call(t.Context(), cc, retrytest.Create, "no-key"); status.Code(err) != codes.Unavailable {
				t.Fatalf("keyless call = %v, want the first attempt's UNAVAILABLE (no retry)", err)
			}
			ctx := metadata.AppendToOutgoingContext(t.Context(), idempotency.MetadataKey, `"k1"`)
			if _, err := retrytest.Call(ctx, cc, retrytest.Create, "optional-key"); status.Code(err) != codes.Unavailable {
				t.Fatalf("keyed call to a method whose key is optional = %v, want UNAVAILABLE (no retry)", err)
			}
			if got, err := retrytest.Call(ctx, cc, retrytest.Get, "required-key"); err != nil || got != "ok" {
				t.Fatalf("required-key call = %q, %v; want a retried success", got, err)
			}
			attempts := map[string]int{}
			for _, a := range srv.Log() {
				attempts[a.Request]++
				k := a.Metadata.Get(idempotency.MetadataKey)
				if a.Request == "no-key" {
					if len(k) != 0 {
						t.Errorf("the gateway connection minted key %q", k)
					}
				} else if len(k) != 1 || k[0] != `"k1"` {
					t.Errorf("attempt %d of %s carried %q, want the caller's key", a.N, a.Request, k)
				}
			}
			want := map[string]int{"no-key": 1, "optional-key": 1, "required-key": 2}
			for req, n := range want {
				if attempts[req] != n {
					t.Errorf("%s: %d attempts, want %d", req, attempts[req], n)
				}
			}
		})
	}
}
