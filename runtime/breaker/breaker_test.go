package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// fakeClock is a manually advanced clock safe for concurrent reads.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func newTestBreaker(t *testing.T, p policy.CircuitBreaker) (*Breaker, *fakeClock, *[]State) {
	t.Helper()
	clock := &fakeClock{}
	clock.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	var mu sync.Mutex
	var changes []State
	b := New(p, WithClock(clock.now), WithName("/t.S/M"), WithStateChange(func(tr Transition) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, tr.To)
	}))
	return b, clock, &changes
}

func call(t *testing.T, b *Breaker, err error) error {
	t.Helper()
	p, rejected := b.Allow()
	if rejected != nil {
		return rejected
	}
	p.Done(err)
	return nil
}

var errInternal = status.Error(codes.Internal, "boom")

func TestStateMachine(t *testing.T) {
	b, clock, changes := newTestBreaker(t, policy.CircuitBreaker{
		FailureRatio: 0.5, MinRequests: 4, Window: 10 * time.Second, OpenFor: time.Second, HalfOpenRequests: 2,
	})
	// Below MinRequests nothing trips, even at 100% failures.
	for range 3 {
		if err := call(t, b, errInternal); err != nil {
			t.Fatalf("rejected before MinRequests: %v", err)
		}
	}
	if b.State() != Closed {
		t.Fatalf("state = %v, want closed", b.State())
	}
	// The 4th failure reaches MinRequests at ratio 1 >= 0.5.
	if err := call(t, b, errInternal); err != nil {
		t.Fatal(err)
	}
	if b.State() != Open {
		t.Fatalf("state = %v, want open", b.State())
	}
	err := call(t, b, nil)
	if status.Code(err) != codes.Unavailable || !errinfo.Is(err, errinfo.CircuitOpen) {
		t.Fatalf("open breaker returned %v, want UNAVAILABLE/CIRCUIT_OPEN", err)
	}
	if ra := errinfo.RetryAfter(err); ra != time.Second {
		t.Errorf("RetryAfter = %v, want 1s", ra)
	}
	clock.advance(time.Second)
	// Half-open admits exactly HalfOpenRequests probes.
	p1, err1 := b.Allow()
	p2, err2 := b.Allow()
	_, err3 := b.Allow()
	if err1 != nil || err2 != nil || err3 == nil {
		t.Fatalf("half-open admissions: %v %v %v, want nil nil rejection", err1, err2, err3)
	}
	if b.State() != HalfOpen {
		t.Fatalf("state = %v, want half-open", b.State())
	}
	p1.Done(nil)
	if b.State() != HalfOpen {
		t.Fatalf("closed after one of two probes")
	}
	p2.Done(nil)
	if b.State() != Closed {
		t.Fatalf("state = %v, want closed after successful probes", b.State())
	}
	if calls, failures := b.Counts(); calls != 0 || failures != 0 {
		t.Errorf("closing kept old counts: %d calls %d failures", calls, failures)
	}
	want := []State{Open, HalfOpen, Closed}
	if len(*changes) != len(want) {
		t.Fatalf("state changes = %v, want %v", *changes, want)
	}
	for i := range want {
		if (*changes)[i] != want[i] {
			t.Fatalf("state changes = %v, want %v", *changes, want)
		}
	}
}

func TestHalfOpenFailureReopens(t *testing.T) {
	b, clock, _ := newTestBreaker(t, policy.CircuitBreaker{MinRequests: 1, OpenFor: time.Second})
	_ = call(t, b, errInternal)
	clock.advance(time.Second)
	p, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	p.Done(errInternal)
	if b.State() != Open {
		t.Fatalf("state = %v, want open after failed probe", b.State())
	}
	clock.advance(999 * time.Millisecond)
	if err := call(t, b, nil); err == nil {
		t.Fatal("admitted before OpenFor passed again")
	}
	clock.advance(time.Millisecond)
	if err := call(t, b, nil); err != nil || b.State() != Closed {
		t.Fatalf("probe after reopen: err %v state %v", err, b.State())
	}
}

func TestWindowForgetsOldFailures(t *testing.T) {
	tests := []struct {
		name      string
		gap       time.Duration
		wantState State
	}{
		{"failures within the window trip", 5 * time.Second, Open},
		{"failures older than the window are forgotten", 11 * time.Second, Closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, clock, _ := newTestBreaker(t, policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 4, Window: 10 * time.Second})
			for range 3 {
				_ = call(t, b, errInternal)
			}
			clock.advance(tt.gap)
			_ = call(t, b, errInternal)
			if b.State() != tt.wantState {
				t.Fatalf("state = %v, want %v", b.State(), tt.wantState)
			}
		})
	}
}

func TestRatioAndClassification(t *testing.T) {
	tests := []struct {
		name      string
		successes int
		err       error
		failures  int
		wantState State
	}{
		{"below ratio stays closed", 11, errInternal, 9, Closed},
		{"at ratio opens", 10, errInternal, 10, Open},
		{"client errors do not count", 0, status.Error(codes.InvalidArgument, "bad"), 20, Closed},
		{"rate limit rejections do not count", 0, status.Error(codes.ResourceExhausted, "slow down"), 20, Closed},
		{"plain errors are UNKNOWN and count", 0, errors.New("plain"), 20, Open},
		{"deadline counts", 0, status.Error(codes.DeadlineExceeded, "late"), 20, Open},
		{"a bare context deadline counts", 0, context.DeadlineExceeded, 20, Open},
		{"a caller's cancellation does not count", 0, context.Canceled, 20, Closed},
		{"a wrapped cancellation does not count", 0, fmt.Errorf("query: %w", context.Canceled), 20, Closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _, _ := newTestBreaker(t, policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 20})
			for range tt.successes {
				_ = call(t, b, nil)
			}
			for range tt.failures {
				_ = call(t, b, tt.err)
			}
			if b.State() != tt.wantState {
				t.Fatalf("state = %v, want %v", b.State(), tt.wantState)
			}
		})
	}
}

func TestStaleOutcomesIgnored(t *testing.T) {
	b, clock, _ := newTestBreaker(t, policy.CircuitBreaker{MinRequests: 1, OpenFor: time.Second})
	slow, err := b.Allow() // admitted while closed
	if err != nil {
		t.Fatal(err)
	}
	_ = call(t, b, errInternal) // trips
	clock.advance(time.Second)
	probe, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	// The slow call admitted while closed fails now: it must not re-open
	// the half-open breaker.
	slow.Done(errInternal)
	if b.State() != HalfOpen {
		t.Fatalf("stale outcome moved state to %v", b.State())
	}
	probe.Done(nil)
	if b.State() != Closed {
		t.Fatalf("state = %v, want closed", b.State())
	}
	var zero Permit
	zero.Done(errInternal) // must not panic
}

// Concurrent outcomes are all counted: a fixed clock keeps every call in
// one slice (no slice reset may drop any), so the window must hold exactly
// the calls and failures made.
func TestConcurrentCallsAreAllCounted(t *testing.T) {
	b, _, changes := newTestBreaker(t, policy.CircuitBreaker{FailureRatio: 0.9, MinRequests: 1000})
	const goroutines, perGoroutine = 8, 5000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				p, err := b.Allow()
				if err != nil {
					t.Errorf("call rejected by a breaker that must stay closed: %v", err)
					return
				}
				if (i+g)%2 == 0 {
					p.Done(errInternal)
				} else {
					p.Done(nil)
				}
			}
		})
	}
	wg.Wait()
	calls, failures := b.Counts()
	if calls != goroutines*perGoroutine || failures != goroutines*perGoroutine/2 {
		t.Fatalf("window holds %d calls, %d failures; want %d and %d", calls, failures, goroutines*perGoroutine, goroutines*perGoroutine/2)
	}
	if b.State() != Closed || len(*changes) != 0 {
		t.Fatalf("a 50%% failure ratio under a 90%% threshold changed state: %v", *changes)
	}
}

// Many goroutines failing at once trip the breaker exactly once, and every
// call after the trip is rejected.
func TestConcurrentFailuresTripOnce(t *testing.T) {
	b, _, changes := newTestBreaker(t, policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 100, OpenFor: time.Hour})
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 2000 {
				p, err := b.Allow()
				if err != nil {
					continue
				}
				admitted.Add(1)
				p.Done(errInternal)
			}
		})
	}
	wg.Wait()
	if len(*changes) != 1 || (*changes)[0] != Open {
		t.Fatalf("state changes = %v, want exactly one to open", *changes)
	}
	// Calls admitted before the trip may finish after it, but no call can be
	// admitted once it is open: at most the window plus those in flight.
	if n := admitted.Load(); n < 100 || n > 100+8 {
		t.Fatalf("%d calls admitted, want 100 (min requests) plus at most one in flight per goroutine", n)
	}
	if _, err := b.Allow(); !errinfo.Is(err, errinfo.CircuitOpen) {
		t.Fatalf("Allow after the trip = %v, want CIRCUIT_OPEN", err)
	}
}

// The state and its deadline change together: while the state-change
// callback of a trip runs (it logs, it may be slow), a concurrent Allow sees
// the breaker open with its full OpenFor ahead and is rejected.
func TestAllowDuringTripCallbackIsRejected(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	b := New(policy.CircuitBreaker{MinRequests: 1, OpenFor: time.Hour}, WithStateChange(func(tr Transition) {
		if tr.To == Open {
			close(entered)
			<-release
		}
	}))
	p, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		p.Done(errInternal) // trips the breaker and blocks in the callback
	}()
	<-entered
	_, err = b.Allow()
	close(release)
	<-recorded
	if !errinfo.Is(err, errinfo.CircuitOpen) || errinfo.RetryAfter(err) < 59*time.Minute {
		t.Fatalf("Allow during the trip callback = %v, want CIRCUIT_OPEN with about an hour to wait", err)
	}
	if b.State() != Open {
		t.Fatalf("state = %v, want open for an hour", b.State())
	}
}

// A trip reports the window's counts and the context of the call that
// tripped it.
func TestTransitionReportsRatioAndContext(t *testing.T) {
	type key struct{}
	var got []Transition
	b := New(policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 4, OpenFor: time.Hour}, WithStateChange(func(tr Transition) { got = append(got, tr) }))
	for _, err := range []error{nil, errInternal, nil, errInternal} {
		p, aerr := b.Allow()
		if aerr != nil {
			t.Fatal(aerr)
		}
		p.DoneContext(context.WithValue(context.Background(), key{}, "tripper"), err)
	}
	if len(got) != 1 {
		t.Fatalf("transitions = %+v, want one", got)
	}
	tr := got[0]
	if tr.From != Closed || tr.To != Open || tr.Calls != 4 || tr.Failures != 2 || tr.FailRatio() != 0.5 {
		t.Fatalf("transition = %+v, want closed->open over 4 calls, 2 failures", tr)
	}
	if tr.Context == nil || tr.Context.Value(key{}) != "tripper" {
		t.Fatal("transition does not carry the tripping call's context")
	}
}

func TestDefaults(t *testing.T) {
	b := New(policy.CircuitBreaker{})
	if b.failureRatio != DefaultFailureRatio || b.minRequests != DefaultMinRequests ||
		b.openFor != int64(DefaultOpenFor) || b.halfOpenRequests != DefaultHalfOpenRequests ||
		b.bucketWidth != int64(DefaultWindow)/buckets {
		t.Fatalf("defaults not applied: %+v", b)
	}
	if New(policy.CircuitBreaker{FailureRatio: 7}).failureRatio != 1 {
		t.Error("ratio above 1 not clamped")
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Closed: "closed", HalfOpen: "half-open", Open: "open", 9: "State(9)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), want)
		}
	}
}

func BenchmarkAllowDone(b *testing.B) {
	br := New(policy.CircuitBreaker{})
	b.ReportAllocs()
	for b.Loop() {
		p, err := br.Allow()
		if err == nil {
			p.Done(nil)
		}
	}
}

func BenchmarkAllowDoneParallel(b *testing.B) {
	br := New(policy.CircuitBreaker{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, err := br.Allow()
			if err == nil {
				p.Done(nil)
			}
		}
	})
}

func TestSuccessesAcrossSlicesCount(t *testing.T) {
	b, clock, _ := newTestBreaker(t, policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second})
	for range 40 {
		_ = call(t, b, nil)
		clock.advance(100 * time.Millisecond) // 40 successes over 4s
	}
	for range 39 {
		_ = call(t, b, errInternal)
	}
	if b.State() != Closed {
		t.Fatalf("39 failures vs 40 successes opened the breaker (counts %v)", fmtCounts(b))
	}
	_ = call(t, b, errInternal)
	if b.State() != Open {
		t.Fatalf("40 failures vs 40 successes left it %v (counts %v)", b.State(), fmtCounts(b))
	}
}

func fmtCounts(b *Breaker) [2]uint64 {
	c, f := b.Counts()
	return [2]uint64{c, f}
}

func TestSuccessesAfterIdleCount(t *testing.T) {
	b, clock, _ := newTestBreaker(t, policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second})
	for range 500 {
		_ = call(t, b, nil)
	}
	clock.advance(time.Hour) // idle: everything above has left the window
	for range 30 {
		_ = call(t, b, nil)
	}
	for range 29 {
		_ = call(t, b, errInternal)
	}
	if b.State() != Closed {
		t.Fatalf("29 failures vs 30 recent successes opened the breaker (counts %v)", fmtCounts(b))
	}
	// Successes are never lost to an expired slice (which could open the
	// breaker falsely); at most clockEvery-1 per shard from before the idle
	// period may still be counted as recent.
	maxStale := uint64((clockEvery - 1) * shards)
	if c := fmtCounts(b); c[0] < 59 || c[0] > 59+maxStale || c[1] != 29 {
		t.Fatalf("window holds %v, want 59..%d calls and 29 failures", c, 59+maxStale)
	}
	for i := 0; b.State() == Closed; i++ {
		if i > 30+int(maxStale) {
			t.Fatalf("still closed after %d more failures (counts %v)", i, fmtCounts(b))
		}
		_ = call(t, b, errInternal)
	}
}

func TestLostProbeDoesNotStickHalfOpen(t *testing.T) {
	b, clock, _ := newTestBreaker(t, policy.CircuitBreaker{MinRequests: 1, OpenFor: time.Second})
	_ = call(t, b, errInternal)
	clock.advance(time.Second)
	if _, err := b.Allow(); err != nil { // a probe whose outcome never comes
		t.Fatal(err)
	}
	err := call(t, b, nil)
	if !errinfo.Is(err, errinfo.CircuitOpen) || errinfo.RetryAfter(err) <= 0 {
		t.Fatalf("second call while the probe is out: %v, want CIRCUIT_OPEN with a delay", err)
	}
	clock.advance(time.Second)
	if err := call(t, b, nil); err != nil {
		t.Fatalf("after OpenFor a fresh probe must be admitted: %v", err)
	}
	if b.State() != Closed {
		t.Fatalf("state = %v, want closed after the fresh probe succeeded", b.State())
	}
}
