package retry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/rtt"
)

// PushbackTrailer is the trailer a server sets to steer client retries
// (gRFC A6): a non-negative integer is the delay in milliseconds before the
// next attempt; anything else means "do not retry".
const PushbackTrailer = "grpc-retry-pushback-ms"

// Defaults of the retry budget, those of gRFC A6 and of the service config
// runtime/serviceconfig emits.
const (
	DefaultMaxTokens  = 10
	DefaultTokenRatio = 0.1
)

// Outcome classifies one attempt of an adaptive-retry call. Every attempt
// reports exactly one outcome; the attempts of one logical call end with
// exactly one outcome other than OutcomeRetried.
type Outcome string

const (
	// OutcomeOK: the attempt succeeded.
	OutcomeOK Outcome = "ok"
	// OutcomeRetried: the attempt failed and another attempt followed.
	OutcomeRetried Outcome = "retried"
	// OutcomeNotRetryable: the attempt failed with a code the policy does
	// not retry.
	OutcomeNotRetryable Outcome = "not_retryable"
	// OutcomeExhausted: the attempt failed and it was the last one the
	// policy allows.
	OutcomeExhausted Outcome = "exhausted"
	// OutcomeBudget: the attempt failed and the retry budget (fewer than
	// half of its tokens left) forbade a retry.
	OutcomeBudget Outcome = "budget_exhausted"
	// OutcomeDeadline: the attempt failed and the call's deadline leaves no
	// time for the backoff plus an expected round trip.
	OutcomeDeadline Outcome = "deadline"
	// OutcomePushback: the attempt failed and the server's pushback said
	// not to retry.
	OutcomePushback Outcome = "pushback_stop"
	// OutcomeCircuitOpen: a circuit breaker rejected the attempt
	// (CIRCUIT_OPEN); retrying into an open breaker is never useful.
	OutcomeCircuitOpen Outcome = "circuit_open"
	// OutcomeCanceled: the caller's context ended during the attempt or its
	// backoff.
	OutcomeCanceled Outcome = "canceled"
)

// Option configures a Retrier.
type Option func(*config)

type config struct {
	alpha      float64
	maxTokens  float64
	tokenRatio float64
	window     time.Duration
	observe    func(fullMethod string, o Outcome)
}

// WithAlpha sets the RTT sensitivity α of the backoff (default 1.3).
func WithAlpha(alpha float64) Option { return func(c *config) { c.alpha = alpha } }

// WithBudget sets the retry budget of each target: maxTokens in (0, 1000],
// tokenRatio in (0, 1] (default 10 and 0.1, as gRFC A6).
func WithBudget(maxTokens, tokenRatio float64) Option {
	return func(c *config) { c.maxTokens, c.tokenRatio = maxTokens, tokenRatio }
}

// WithRTTWindow sets the window of the per-target RTT estimator (default
// rtt.DefaultWindow). The RTT baseline, when the policy sets none, is the
// P99 of the first window.
func WithRTTWindow(d time.Duration) Option { return func(c *config) { c.window = d } }

// WithOutcomeObserver receives the outcome of every attempt of an
// adaptive-retry call, e.g. to count them in a metric. It must be fast and
// safe for concurrent use.
func WithOutcomeObserver(f func(fullMethod string, o Outcome)) Option {
	return func(c *config) { c.observe = f }
}

// Retrier retries the unary calls of methods whose policy sets
// Retry.Adaptive, with RTT-adaptive backoff, and measures the round trip of
// every call it sees. Targets (ClientConn targets) each get their own RTT
// window and retry budget. A Retrier is safe for concurrent use; one may
// serve many ClientConns.
type Retrier struct {
	table   policy.Table
	cfg     config
	targets sync.Map // target string -> *target

	// testHookBackoff, when set by tests, sees each backoff ceiling and the
	// jittered delay drawn from it.
	testHookBackoff func(ceiling, delay time.Duration)
}

type target struct {
	rtt    *rtt.Window
	budget *Budget
}

// New returns a Retrier for the methods of table. It fails when an adaptive
// retry policy cannot be honoured: the method is not retry safe (not
// IDEMPOTENT, NO_SIDE_EFFECTS or keyed), is streaming, has attempts outside
// 2..5 or non-positive backoffs; or when an option is out of range.
func New(table policy.Table, opts ...Option) (*Retrier, error) {
	cfg := config{alpha: DefaultAlpha, maxTokens: DefaultMaxTokens, tokenRatio: DefaultTokenRatio, window: rtt.DefaultWindow}
	for _, o := range opts {
		o(&cfg)
	}
	if !(cfg.alpha >= 0) || cfg.alpha > 20 {
		return nil, fmt.Errorf("retry: alpha %v outside [0, 20]; the default is %v", cfg.alpha, DefaultAlpha)
	}
	if _, err := NewBudget(cfg.maxTokens, cfg.tokenRatio); err != nil {
		return nil, err
	}
	for name, m := range table {
		if err := Validate(name, m); err != nil {
			return nil, err
		}
	}
	return &Retrier{table: table, cfg: cfg}, nil
}

// Validate reports why the adaptive retry policy of m cannot be honoured, or
// nil when m has none or it is sound.
func Validate(fullMethod string, m *policy.Method) error {
	if m == nil || m.Disabled || m.Retry == nil || !m.Retry.Adaptive {
		return nil
	}
	r := m.Retry
	switch {
	case !m.RetrySafe():
		return fmt.Errorf("retry: %s is not idempotent and is never retried; declare idempotency_level IDEMPOTENT or NO_SIDE_EFFECTS or an idempotency block, or remove its retry policy", fullMethod)
	case m.Streaming():
		return fmt.Errorf("retry: %s is a streaming method; adaptive retry covers unary methods only, remove adaptive", fullMethod)
	case r.MaxAttempts < 2 || r.MaxAttempts > 5:
		return fmt.Errorf("retry: %s: max attempts %d outside 2..5 (gRPC's cap is 5)", fullMethod, r.MaxAttempts)
	case r.InitialBackoff < 0 || r.MaxBackoff < 0:
		return fmt.Errorf("retry: %s: backoffs must not be negative (initial %v, max %v); leave them zero for the defaults %v and %v", fullMethod, r.InitialBackoff, r.MaxBackoff, DefaultInitialBackoff, DefaultMaxBackoff)
	case r.MaxBackoff > 0 && r.MaxBackoff < cmp.Or(r.InitialBackoff, DefaultInitialBackoff):
		return fmt.Errorf("retry: %s: max backoff %v is below the initial backoff %v; raise max_backoff", fullMethod, r.MaxBackoff, cmp.Or(r.InitialBackoff, DefaultInitialBackoff))
	}
	return nil
}

// RTT returns the RTT window of target (a ClientConn's Target()), creating
// it when the target has not been called yet.
func (r *Retrier) RTT(target string) *rtt.Window { return r.target(target).rtt }

// Budget returns the retry budget of target.
func (r *Retrier) Budget(target string) *Budget { return r.target(target).budget }

func (r *Retrier) target(name string) *target {
	if t, ok := r.targets.Load(name); ok {
		return t.(*target)
	}
	b, _ := NewBudget(r.cfg.maxTokens, r.cfg.tokenRatio) // validated in New
	t, _ := r.targets.LoadOrStore(name, &target{rtt: rtt.NewWindow(rtt.WithWindow(r.cfg.window)), budget: b})
	return t.(*target)
}

// UnaryClientInterceptor returns the interceptor. Methods without an
// adaptive policy pass through once; their round trip feeds the target's
// RTT window when they have no native retry policy (whose backoffs would
// pollute it) and did not fail with UNAVAILABLE or CANCELLED (which say
// nothing about the round trip). Adaptive attempts feed it when a server
// answered them.
// Adaptive methods are retried by the rules of the package doc. Chain it
// inside the idempotency key interceptor, so every attempt carries the
// caller's key, and outside the per-attempt deadline and breaker.
func (r *Retrier) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		m := r.table.Lookup(method)
		if m == nil || m.Disabled || m.Retry == nil {
			start := time.Now()
			err := invoker(ctx, method, req, reply, cc, opts...)
			if answered(ctx, err) {
				r.target(cc.Target()).rtt.Observe(time.Since(start))
			}
			return err
		}
		if !m.Retry.Adaptive || !m.RetrySafe() || m.Streaming() {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		return r.retry(ctx, m, method, req, reply, cc, invoker, opts)
	}
}

func (r *Retrier) retry(ctx context.Context, m *policy.Method, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption) error {
	t := r.target(cc.Target())
	pol := m.Retry
	bo := Backoff{Initial: pol.InitialBackoff, Max: pol.MaxBackoff, Multiplier: pol.Multiplier, Alpha: r.cfg.alpha}

	var trailer metadata.MD
	var server peer.Peer
	attemptOpts := make([]grpc.CallOption, len(opts), len(opts)+2)
	copy(attemptOpts, opts)
	attemptOpts = append(attemptOpts, grpc.Trailer(&trailer), grpc.Peer(&server))
	sincePushback := 0
	for attempt := 1; ; attempt++ {
		trailer, server = nil, peer.Peer{}
		start := time.Now()
		err := invoker(ctx, method, req, reply, cc, attemptOpts...)
		elapsed := time.Since(start)
		if err == nil {
			t.rtt.Observe(elapsed)
			t.budget.OnSuccess()
			r.report(method, OutcomeOK)
			return nil
		}
		if ctx.Err() != nil {
			r.report(method, OutcomeCanceled)
			return err
		}
		if errinfo.Is(err, errinfo.CircuitOpen) {
			r.report(method, OutcomeCircuitOpen)
			return err
		}
		// Only an answer from a server says something about the round
		// trip: a connection refused in 0 ms must not pull the P99 (and
		// with it the backoff) down while the target is down.
		if server.Addr != nil {
			t.rtt.Observe(elapsed)
		}
		if !retryable(pol, status.Code(err)) {
			r.report(method, OutcomeNotRetryable)
			return err
		}
		t.budget.OnFailure()
		pushback, hasPushback, stop := parsePushback(trailer)
		switch {
		case stop:
			r.report(method, OutcomePushback)
			return err
		case attempt >= pol.MaxAttempts:
			r.report(method, OutcomeExhausted)
			return err
		case !t.budget.Allow():
			r.report(method, OutcomeBudget)
			return err
		}
		var delay time.Duration
		if hasPushback {
			delay = pushback
			sincePushback = 0
		} else {
			ceiling := bo.Ceiling(sincePushback, r.p99(t), r.baseline(t, pol))
			delay = FullJitter(ceiling)
			if r.testHookBackoff != nil {
				r.testHookBackoff(ceiling, delay)
			}
			sincePushback++
		}
		// A RetryInfo from a govern rejection is the server's own pacing.
		delay = max(delay, errinfo.RetryAfter(err))
		if deadline, ok := ctx.Deadline(); ok {
			expected, known := t.rtt.Quantile(0.5)
			if !known {
				expected = elapsed
			}
			if time.Until(deadline) < delay+expected {
				r.report(method, OutcomeDeadline)
				return err
			}
		}
		r.report(method, OutcomeRetried)
		if !sleep(ctx, delay) {
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

func (r *Retrier) p99(t *target) time.Duration {
	if r.cfg.alpha == 0 {
		return 0 // WithAlpha(0): RTT-blind, every ceiling as at the baseline
	}
	p, _ := t.rtt.Quantile(0.99)
	return p
}

// baseline is the policy's RTT baseline, else the learned one, else 0
// (Ceiling then uses DefaultRTTBaseline).
func (r *Retrier) baseline(t *target, pol *policy.Retry) time.Duration {
	if pol.RTTBaseline > 0 {
		return pol.RTTBaseline
	}
	b, _ := t.rtt.Baseline()
	return b
}

func (r *Retrier) report(method string, o Outcome) {
	if r.cfg.observe != nil {
		r.cfg.observe(method, o)
	}
}

// answered reports whether a single-attempt call's error says something
// about the round trip: success, or a status other than the caller giving
// up or the channel failing fast (UNAVAILABLE, which includes a refused
// connection and a local CIRCUIT_OPEN).
func answered(ctx context.Context, err error) bool {
	if err == nil {
		return true
	}
	c := status.Code(err)
	return ctx.Err() == nil && c != codes.Canceled && c != codes.Unavailable
}

func retryable(pol *policy.Retry, c codes.Code) bool {
	if len(pol.Codes) == 0 {
		return c == codes.Unavailable
	}
	for _, rc := range pol.Codes {
		if rc == c {
			return true
		}
	}
	return false
}

// maxPushbackMillis is the largest pushback in milliseconds that a
// time.Duration holds; larger values are clamped to it.
const maxPushbackMillis = math.MaxInt64 / int64(time.Millisecond)

// parsePushback reads the gRFC A6 pushback trailer: a single non-negative
// integer of milliseconds is a delay; a negative, malformed or repeated
// value means stop. A delay too long for a time.Duration (over ~292 years)
// is clamped to the longest one: the server asked for a long pause and gets
// it (the call's deadline then stops the retry, as for any delay longer
// than the time left), never an immediate retry through an overflow.
func parsePushback(md metadata.MD) (delay time.Duration, ok, stop bool) {
	vals := md.Get(PushbackTrailer)
	switch len(vals) {
	case 0:
		return 0, false, false
	case 1:
		ms, err := strconv.ParseInt(vals[0], 10, 64)
		if errors.Is(err, strconv.ErrRange) && ms > 0 {
			ms, err = maxPushbackMillis, nil
		}
		if err != nil || ms < 0 {
			return 0, false, true
		}
		return time.Duration(min(ms, maxPushbackMillis)) * time.Millisecond, true, false
	default:
		return 0, false, true
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
