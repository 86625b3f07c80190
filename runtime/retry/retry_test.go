package retry

import (
	"context"
	"errors"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/retry/retrytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// adaptiveTable gives Get an adaptive retry (idempotent) and leaves Create
// (not idempotent) without retry.
func adaptiveTable(r policy.Retry) policy.Table {
	r.Adaptive = true
	return policy.Table{
		retrytest.Get:    {FullMethod: retrytest.Get, IdempotencyLevel: policy.NoSideEffects, Retry: &r},
		retrytest.Create: {FullMethod: retrytest.Create},
	}
}

func fastRetry() policy.Retry {
	return policy.Retry{MaxAttempts: 5, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Multiplier: 2, Codes: []codes.Code{codes.Unavailable}}
}

// outcomes records attempt outcomes for a test.
type outcomes struct {
	mu   sync.Mutex
	list []Outcome
}

func (o *outcomes) observe(_ string, out Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.list = append(o.list, out)
}

func (o *outcomes) get() []Outcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.list)
}

func (o *outcomes) count(want Outcome) int {
	n := 0
	for _, got := range o.get() {
		if got == want {
			n++
		}
	}
	return n
}

// setup starts a scripted server and dials it through a Retrier.
func setup(t *testing.T, table policy.Table, script retrytest.Script, opts ...Option) (*retrytest.Server, *grpc.ClientConn, *Retrier, *outcomes) {
	t.Helper()
	srv, err := retrytest.Start(script)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	out := &outcomes{}
	r, err := New(table, append([]Option{WithOutcomeObserver(out.observe)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(srv.Addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(r.UnaryClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return srv, cc, r, out
}

func failFirst(n int, code codes.Code) retrytest.Script {
	return func(_ context.Context, a retrytest.Attempt) (string, error) {
		if a.N <= n {
			return "", status.Errorf(code, "scripted failure %d", a.N)
		}
		return "ok " + a.Request, nil
	}
}

func alwaysFail(code codes.Code) retrytest.Script {
	return func(context.Context, retrytest.Attempt) (string, error) {
		return "", status.Error(code, "scripted outage")
	}
}

func TestUnavailableThenOKIsRetriedWithTheSameMetadata(t *testing.T) {
	srv, cc, _, out := setup(t, adaptiveTable(fastRetry()), failFirst(2, codes.Unavailable))
	ctx := metadata.AppendToOutgoingContext(t.Context(), "idempotency-key", "k-123")
	got, err := retrytest.Call(ctx, cc, retrytest.Get, "x")
	if err != nil || got != "ok x" {
		t.Fatalf("Call = %q, %v; want ok x", got, err)
	}
	log := srv.Log()
	if len(log) != 3 {
		t.Fatalf("server saw %d attempts, want 3", len(log))
	}
	for _, a := range log {
		if k := a.Metadata.Get("idempotency-key"); len(k) != 1 || k[0] != "k-123" {
			t.Errorf("attempt %d carried idempotency-key %q, want [k-123]", a.N, k)
		}
	}
	if want := []Outcome{OutcomeRetried, OutcomeRetried, OutcomeOK}; !slices.Equal(out.get(), want) {
		t.Errorf("outcomes = %v, want %v", out.get(), want)
	}
}

func TestNeverRetriesWhatItMustNot(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		script  retrytest.Script
		want    codes.Code
		outcome Outcome // "" when the call does not go through the retry loop
	}{
		{"method without retry policy", retrytest.Create, alwaysFail(codes.Unavailable), codes.Unavailable, ""},
		{"code not in policy", retrytest.Get, alwaysFail(codes.InvalidArgument), codes.InvalidArgument, OutcomeNotRetryable},
		{"pushback -1", retrytest.Get, func(ctx context.Context, _ retrytest.Attempt) (string, error) {
			retrytest.Pushback(ctx, "-1")
			return "", status.Error(codes.Unavailable, "go away")
		}, codes.Unavailable, OutcomePushback},
		{"pushback garbage", retrytest.Get, func(ctx context.Context, _ retrytest.Attempt) (string, error) {
			retrytest.Pushback(ctx, "soon")
			return "", status.Error(codes.Unavailable, "go away")
		}, codes.Unavailable, OutcomePushback},
		{"circuit open", retrytest.Get, func(context.Context, retrytest.Attempt) (string, error) {
			return "", errinfo.Error(codes.Unavailable, errinfo.CircuitOpen, "breaker open", 0, nil)
		}, codes.Unavailable, OutcomeCircuitOpen},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, cc, _, out := setup(t, adaptiveTable(fastRetry()), c.script)
			_, err := retrytest.Call(t.Context(), cc, c.method, "x")
			if status.Code(err) != c.want {
				t.Fatalf("err = %v, want code %v", err, c.want)
			}
			if n := srv.Attempts(c.method); n != 1 {
				t.Errorf("server saw %d attempts, want exactly 1", n)
			}
			var want []Outcome
			if c.outcome != "" {
				want = []Outcome{c.outcome}
			}
			if !slices.Equal(out.get(), want) {
				t.Errorf("outcomes = %v, want %v", out.get(), want)
			}
		})
	}
}

func TestNewRejectsUnsafeAdaptivePolicies(t *testing.T) {
	good := fastRetry()
	good.Adaptive = true
	cases := []struct {
		name string
		m    policy.Method
		want string
	}{
		{"not idempotent", policy.Method{Retry: &good}, "is not idempotent"},
		{"streaming", policy.Method{IdempotencyLevel: policy.Idempotent, ServerStreaming: true, Retry: &good}, "streaming"},
		{"one attempt", policy.Method{IdempotencyLevel: policy.Idempotent, Retry: &policy.Retry{Adaptive: true, MaxAttempts: 1, InitialBackoff: 1, MaxBackoff: 1}}, "max attempts 1"},
		{"six attempts", policy.Method{IdempotencyLevel: policy.Idempotent, Retry: &policy.Retry{Adaptive: true, MaxAttempts: 6, InitialBackoff: 1, MaxBackoff: 1}}, "max attempts 6"},
		{"max below initial", policy.Method{IdempotencyLevel: policy.Idempotent, Retry: &policy.Retry{Adaptive: true, MaxAttempts: 3, InitialBackoff: 2, MaxBackoff: 1}}, "below the initial backoff"},
		{"max below the default initial", policy.Method{IdempotencyLevel: policy.Idempotent, Retry: &policy.Retry{Adaptive: true, MaxAttempts: 3, MaxBackoff: time.Millisecond}}, "below the initial backoff 100ms"},
		{"negative backoff", policy.Method{IdempotencyLevel: policy.Idempotent, Retry: &policy.Retry{Adaptive: true, MaxAttempts: 3, InitialBackoff: -1}}, "must not be negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(policy.Table{"/s.S/M": &c.m})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "/s.S/M") {
				t.Fatalf("New error = %v; want one naming /s.S/M and containing %q", err, c.want)
			}
		})
	}
	for _, bad := range []Option{WithAlpha(-1), WithAlpha(math.NaN()), WithBudget(0, 0.1), WithBudget(10, 0), WithBudget(2000, 0.1)} {
		if _, err := New(nil, bad); err == nil {
			t.Error("New accepted an out-of-range option")
		}
	}
}

func TestMaxAttemptsExhausted(t *testing.T) {
	pol := fastRetry()
	pol.MaxAttempts = 4
	srv, cc, _, out := setup(t, adaptiveTable(pol), alwaysFail(codes.Unavailable), WithBudget(1000, 1))
	_, err := retrytest.Call(t.Context(), cc, retrytest.Get, "x")
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("err = %v", err)
	}
	if n := srv.Attempts(retrytest.Get); n != 4 {
		t.Errorf("attempts = %d, want 4", n)
	}
	if want := []Outcome{OutcomeRetried, OutcomeRetried, OutcomeRetried, OutcomeExhausted}; !slices.Equal(out.get(), want) {
		t.Errorf("outcomes = %v, want %v", out.get(), want)
	}
}

func TestPushbackDelayIsHonoured(t *testing.T) {
	const pushback = 300 * time.Millisecond
	srv, cc, _, out := setup(t, adaptiveTable(fastRetry()), func(ctx context.Context, a retrytest.Attempt) (string, error) {
		if a.N == 1 {
			retrytest.Pushback(ctx, "300")
			return "", status.Error(codes.Unavailable, "later")
		}
		return "ok", nil
	})
	if _, err := retrytest.Call(t.Context(), cc, retrytest.Get, "x"); err != nil {
		t.Fatal(err)
	}
	log := srv.Log()
	if len(log) != 2 {
		t.Fatalf("attempts = %d, want 2", len(log))
	}
	// Without the pushback the policy's backoff is at most 5ms.
	if gap := log[1].At.Sub(log[0].At); gap < pushback {
		t.Errorf("second attempt %v after the first; pushback asked for %v", gap, pushback)
	}
	if want := []Outcome{OutcomeRetried, OutcomeOK}; !slices.Equal(out.get(), want) {
		t.Errorf("outcomes = %v, want %v", out.get(), want)
	}
}

func TestBudgetStopsARetryStorm(t *testing.T) {
	const calls = 200
	srv, cc, r, out := setup(t, adaptiveTable(fastRetry()), alwaysFail(codes.Unavailable))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for range calls / 4 {
				if _, err := retrytest.Call(t.Context(), cc, retrytest.Get, "x"); status.Code(err) != codes.Unavailable {
					t.Errorf("worker %d: err = %v, want UNAVAILABLE", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	attempts := srv.Attempts(retrytest.Get)
	if limit := calls * 11 / 10; attempts > limit {
		t.Errorf("%d calls made %d attempts under a total outage; the budget allows at most %d", calls, attempts, limit)
	}
	if n := out.count(OutcomeBudget); n < calls-10 {
		t.Errorf("only %d of %d calls were stopped by the budget", n, calls)
	}
	if tok := r.Budget(cc.Target()).Tokens(); tok > DefaultMaxTokens/2 {
		t.Errorf("budget holds %v tokens after the outage, want <= %v", tok, DefaultMaxTokens/2)
	}
	// Once spent, every call is exactly one attempt.
	srv.Reset()
	for range 20 {
		_, _ = retrytest.Call(t.Context(), cc, retrytest.Get, "x")
	}
	if n := srv.Attempts(retrytest.Get); n != 20 {
		t.Errorf("20 calls with a spent budget made %d attempts, want 20", n)
	}
}

func TestNoAttemptThatCannotFinish(t *testing.T) {
	cases := []struct {
		name   string
		script retrytest.Script
		pol    func(*policy.Retry)
	}{
		// The server asks for 500ms; the call has 150ms left.
		{"pushback past the deadline", func(ctx context.Context, a retrytest.Attempt) (string, error) {
			retrytest.Pushback(ctx, "500")
			return "", status.Error(codes.Unavailable, "later")
		}, func(*policy.Retry) {}},
		// Backoffs of up to a second, drawn with full jitter: some retries
		// fit, the last one never sleeps into the deadline.
		{"jittered backoff", alwaysFail(codes.Unavailable), func(p *policy.Retry) {
			p.InitialBackoff, p.MaxBackoff = 100*time.Millisecond, time.Second
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pol := fastRetry()
			c.pol(&pol)
			srv, cc, _, out := setup(t, adaptiveTable(pol), c.script, WithBudget(1000, 1))
			ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
			defer cancel()
			_, err := retrytest.Call(ctx, cc, retrytest.Get, "x")
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("err = %v; want the attempt's UNAVAILABLE, not a deadline spent sleeping", err)
			}
			got := out.get()
			if len(got) == 0 || got[len(got)-1] != OutcomeDeadline || len(got) != srv.Attempts(retrytest.Get) {
				t.Errorf("outcomes = %v for %d attempts; want one per attempt, the last %q", got, srv.Attempts(retrytest.Get), OutcomeDeadline)
			}
		})
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	pol := fastRetry()
	pol.InitialBackoff, pol.MaxBackoff = 10*time.Second, 10*time.Second
	srv, cc, _, _ := setup(t, adaptiveTable(pol), alwaysFail(codes.Unavailable))
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for srv.Attempts(retrytest.Get) == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	_, err := retrytest.Call(ctx, cc, retrytest.Get, "x")
	if status.Code(err) != codes.Canceled {
		t.Fatalf("err = %v, want CANCELED", err)
	}
}

// TestBackoffGrowsWithLatency runs the same failing-once calls against a
// server answering in ~30ms, then ~300ms, with a 30ms policy baseline: the
// backoff ceilings must grow, and never pass max_backoff. (At ~30ms the
// ceiling stays below max_backoff while the measured P99, the slowest of the
// few samples, is below ~130ms: a wide margin for a loaded machine.)
func TestBackoffGrowsWithLatency(t *testing.T) {
	pol := policy.Retry{MaxAttempts: 2, InitialBackoff: time.Millisecond, MaxBackoff: 300 * time.Millisecond, Multiplier: 2,
		Codes: []codes.Code{codes.Unavailable}, RTTBaseline: 30 * time.Millisecond}
	var latency sync.Map
	latency.Store("d", 30*time.Millisecond)
	srv, cc, r, _ := setup(t, adaptiveTable(pol), func(ctx context.Context, a retrytest.Attempt) (string, error) {
		d, _ := latency.Load("d")
		time.Sleep(d.(time.Duration))
		if a.N%2 == 1 {
			return "", status.Error(codes.Unavailable, "odd attempts fail")
		}
		return "ok", nil
	}, WithRTTWindow(time.Minute), WithBudget(1000, 1))
	_ = srv
	var mu sync.Mutex
	var ceilings []time.Duration
	r.testHookBackoff = func(ceiling, delay time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if delay < 0 || delay > ceiling {
			t.Errorf("delay %v outside [0, %v]", delay, ceiling)
		}
		ceilings = append(ceilings, ceiling)
	}
	phase := func(d time.Duration, calls int) []time.Duration {
		latency.Store("d", d)
		mu.Lock()
		ceilings = nil
		mu.Unlock()
		for range calls {
			if _, err := retrytest.Call(t.Context(), cc, retrytest.Get, "x"); err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(ceilings)
	}
	fast := phase(30*time.Millisecond, 25)
	slow := phase(300*time.Millisecond, 3)
	if len(fast) != 25 || len(slow) != 3 {
		t.Fatalf("got %d and %d backoffs, want 25 and 3", len(fast), len(slow))
	}
	// The median, not the maximum, of the fast phase: one scheduling stall
	// on a loaded machine may legitimately raise a few fast ceilings.
	medianFast, lastSlow := slices.Sorted(slices.Values(fast))[len(fast)/2], slow[len(slow)-1]
	if lastSlow <= medianFast {
		t.Errorf("backoff ceiling at 300ms RTT (%v) not above the median at 30ms RTT (%v)", lastSlow, medianFast)
	}
	for _, c := range slices.Concat(fast, slow) {
		if c > pol.MaxBackoff {
			t.Errorf("backoff ceiling %v above max_backoff %v", c, pol.MaxBackoff)
		}
	}
	if lastSlow != pol.MaxBackoff {
		t.Errorf("at 10x the baseline RTT the ceiling is %v, want it capped at %v", lastSlow, pol.MaxBackoff)
	}
}

func TestUngovernedCallsPassOnceAndFeedRTT(t *testing.T) {
	srv, cc, r, out := setup(t, adaptiveTable(fastRetry()), failFirst(0, codes.OK))
	for range 30 {
		if _, err := retrytest.Call(t.Context(), cc, retrytest.Create, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Attempts(retrytest.Create); n != 30 {
		t.Errorf("attempts = %d, want 30", n)
	}
	if len(out.get()) != 0 {
		t.Errorf("ungoverned calls reported outcomes %v", out.get())
	}
	if n := r.RTT(cc.Target()).Count(); n != 30 {
		t.Errorf("RTT window holds %d samples, want 30", n)
	}
}

// TestCallerDeadlineEndsTheCall: DEADLINE_EXCEEDED is retryable (a slow
// attempt under a per-attempt timeout), but not when the caller's own
// deadline is what ran out.
func TestCallerDeadlineEndsTheCall(t *testing.T) {
	pol := fastRetry()
	pol.Codes = []codes.Code{codes.Unavailable, codes.DeadlineExceeded}
	srv, cc, _, out := setup(t, adaptiveTable(pol), func(ctx context.Context, _ retrytest.Attempt) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := retrytest.Call(ctx, cc, retrytest.Get, "x")
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err = %v, want DEADLINE_EXCEEDED", err)
	}
	// The server's copy of the deadline may fire first, so the client sees
	// the status just before its own context ends.
	if got := out.get(); len(got) != 1 || (got[0] != OutcomeCanceled && got[0] != OutcomeDeadline) {
		t.Errorf("outcomes = %v, want [canceled] or [deadline]", got)
	}
	if n := srv.Attempts(retrytest.Get); n != 1 {
		t.Errorf("attempts = %d, want 1", n)
	}
}

func TestParsePushback(t *testing.T) {
	cases := []struct {
		vals     []string
		delay    time.Duration
		ok, stop bool
	}{
		{nil, 0, false, false},
		{[]string{"0"}, 0, true, false},
		{[]string{"250"}, 250 * time.Millisecond, true, false},
		{[]string{"-1"}, 0, false, true},
		{[]string{"1.5"}, 0, false, true},
		{[]string{""}, 0, false, true},
		{[]string{"1", "2"}, 0, false, true},
		// 9270000000000 ms overflows time.Duration: clamped, never negative.
		{[]string{"9270000000000"}, time.Duration(math.MaxInt64 / int64(time.Millisecond) * int64(time.Millisecond)), true, false},
		{[]string{"99999999999999999999"}, time.Duration(math.MaxInt64 / int64(time.Millisecond) * int64(time.Millisecond)), true, false},
		{[]string{"-99999999999999999999"}, 0, false, true},
		{[]string{"9223372036854"}, 9223372036854 * time.Millisecond, true, false},
	}
	for _, c := range cases {
		md := metadata.MD{}
		if c.vals != nil {
			md[PushbackTrailer] = c.vals
		}
		d, ok, stop := parsePushback(md)
		if d != c.delay || ok != c.ok || stop != c.stop {
			t.Errorf("parsePushback(%q) = %v, %v, %v; want %v, %v, %v", c.vals, d, ok, stop, c.delay, c.ok, c.stop)
		}
	}
}

func FuzzParsePushback(f *testing.F) {
	for _, s := range []string{"0", "250", "-1", "x", "99999999999999999999", "9270000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok, stop := parsePushback(metadata.MD{PushbackTrailer: {s}})
		if ok == stop || d < 0 || (!ok && d != 0) {
			t.Fatalf("parsePushback(%q) = %v, %v, %v", s, d, ok, stop)
		}
		// A valid millisecond count is honoured exactly when a Duration
		// holds it, and never shortened otherwise.
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			if n <= math.MaxInt64/int64(time.Millisecond) && d != time.Duration(n)*time.Millisecond {
				t.Fatalf("parsePushback(%q) = %v, want %dms", s, d, n)
			}
			if n > math.MaxInt64/int64(time.Millisecond) && d < time.Duration(math.MaxInt64/int64(time.Millisecond))*time.Millisecond {
				t.Fatalf("parsePushback(%q) = %v, shortened a pushback too long for a Duration", s, d)
			}
		}
	})
}

var errSentinel = errors.New("sentinel")

func TestSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(errSentinel)
	if sleep(ctx, time.Hour) {
		t.Fatal("sleep returned true on a canceled context")
	}
	if !sleep(t.Context(), 0) {
		t.Fatal("zero sleep on a live context returned false")
	}
}

// TestRetryInfoIsAFloor: a govern rejection's RetryInfo delay is the
// server's own pacing; the backoff never undercuts it.
func TestRetryInfoIsAFloor(t *testing.T) {
	const wait = 250 * time.Millisecond
	srv, cc, _, _ := setup(t, adaptiveTable(fastRetry()), func(_ context.Context, a retrytest.Attempt) (string, error) {
		if a.N == 1 {
			return "", errinfo.Error(codes.Unavailable, errinfo.IdempotencyStoreUnavailable, "store failover", wait, nil)
		}
		return "ok", nil
	})
	if _, err := retrytest.Call(t.Context(), cc, retrytest.Get, "x"); err != nil {
		t.Fatal(err)
	}
	log := srv.Log()
	if len(log) != 2 {
		t.Fatalf("attempts = %d, want 2", len(log))
	}
	if gap := log[1].At.Sub(log[0].At); gap < wait {
		t.Errorf("retried after %v, before the RetryInfo delay %v", gap, wait)
	}
}

// TestOnlyServerAnswersFeedRTT: attempts that never reached a server (a
// refused connection) must not pull the RTT estimate down.
func TestOnlyServerAnswersFeedRTT(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close() // nothing listens there now
	r, err := New(adaptiveTable(fastRetry()), WithBudget(1000, 1))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(r.UnaryClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	for _, m := range []string{retrytest.Get, retrytest.Create} {
		if _, err := retrytest.Call(t.Context(), cc, m, "x"); status.Code(err) != codes.Unavailable {
			t.Fatalf("%s: err = %v, want UNAVAILABLE", m, err)
		}
	}
	if n := r.RTT(cc.Target()).Count(); n != 0 {
		t.Errorf("RTT window holds %d samples from a target that never answered", n)
	}
	// A server that answers with a failure does count.
	srv, cc2, r2, _ := setup(t, adaptiveTable(fastRetry()), alwaysFail(codes.Unavailable), WithBudget(1000, 1))
	_, _ = retrytest.Call(t.Context(), cc2, retrytest.Get, "x")
	if n, want := r2.RTT(cc2.Target()).Count(), uint64(srv.Attempts(retrytest.Get)); n != want {
		t.Errorf("RTT window holds %d samples for %d answered attempts", n, want)
	}
}
