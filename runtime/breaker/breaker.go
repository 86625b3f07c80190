package breaker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/policy"
)

// State is a breaker's state. Its numeric value is what the
// govern_breaker_state gauge exports: 0 closed, 1 half-open, 2 open.
type State uint32

const (
	// Closed lets every call through and counts failures.
	Closed State = iota
	// HalfOpen lets HalfOpenRequests probe calls through; their outcome
	// closes or re-opens the breaker.
	HalfOpen
	// Open rejects every call until OpenFor has passed.
	Open
)

// String returns "closed", "half-open" or "open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half-open"
	case Open:
		return "open"
	default:
		return fmt.Sprintf("State(%d)", uint32(s))
	}
}

// Built-in defaults for policy fields left at zero.
const (
	DefaultFailureRatio     = 0.5
	DefaultMinRequests      = 20
	DefaultWindow           = 10 * time.Second
	DefaultOpenFor          = 5 * time.Second
	DefaultHalfOpenRequests = 1
)

const (
	// buckets is how many slices the rolling window is cut into: a failure
	// older than Window leaves the count at most Window/buckets late.
	buckets = 10
	// shards spreads the counters of concurrent callers over separate cache
	// lines so that recording a success does not contend (must be a power
	// of two).
	shards = 8

	// A bucket's count packs the number of calls in the high 32 bits and
	// the number of failures in the low 32 bits, so one atomic add records
	// a call.
	oneCall    = 1 << 32
	oneFailure = 1

	// clockEvery: a shard reads the clock once per clockEvery successes.
	clockEvery = 16
)

type bucket struct {
	// epoch is the index of the Window/buckets-long time slice the counts
	// belong to.
	epoch  atomic.Int64
	counts atomic.Uint64
}

type shard struct {
	// pending counts successes not yet dated: they are added to the slice
	// of the next clock reading of this shard (every clockEvery-th
	// success, or the next failure on any shard).
	pending atomic.Uint64
	ring    [buckets]bucket
	_       [56]byte // keeps the next shard off this shard's last cache line
}

// Breaker is a lock-free circuit breaker over a rolling time window. Allow
// and Permit.Done allocate nothing; see the package doc for why it is not
// sony/gobreaker.
type Breaker struct {
	// regime is the current state together with its deadline, published
	// as one immutable value: a caller never sees a new state with an old
	// deadline (or the reverse), and outcomes of calls admitted under an
	// earlier regime are ignored.
	regime atomic.Pointer[regime]
	// epoch is the latest time slice any call observed.
	epoch atomic.Int64
	// probes counts half-open admissions and probeSuccesses their
	// successes, each packed as generation<<32 | count so that a count
	// left from an earlier half-open regime is never reused.
	probes         atomic.Uint64
	probeSuccesses atomic.Uint64

	failureRatio     float64
	minRequests      uint64
	bucketWidth      int64
	openFor          int64
	halfOpenRequests uint32

	base      time.Time
	clock     func() time.Time
	onChange  func(Transition)
	isFailure func(error) bool
	name      string

	shards [shards]shard
}

// regime is one state of the breaker, never modified once published.
type regime struct {
	state State
	// gen increments with every transition; probe counts are kept per
	// generation.
	gen uint64
	// until is a clock reading (ns since base): for Open, when probes may
	// start; for HalfOpen, when probes whose outcome never came are given
	// up and a fresh generation of probes starts.
	until int64
}

// Transition describes one state change, as WithStateChange reports it.
type Transition struct {
	From, To State
	// Calls and Failures are the rolling window's counts that tripped a
	// closed breaker open (Failures/Calls is the failure ratio that crossed
	// the policy's); for a failed half-open probe, the probes of that
	// generation admitted so far and 1. Zero for other transitions.
	Calls, Failures uint64
	// Context is the context of the call whose outcome caused the change,
	// when that call reported it with Permit.DoneContext (its trace id
	// names the call that tripped the breaker); nil otherwise.
	Context context.Context
}

// FailRatio is Failures/Calls, or 0 without calls.
func (t Transition) FailRatio() float64 {
	if t.Calls == 0 {
		return 0
	}
	return float64(t.Failures) / float64(t.Calls)
}

// Option configures a Breaker.
type Option func(*Breaker)

// WithStateChange calls fn, synchronously and from the goroutine that
// caused it, after every state transition, once the new state and its
// deadline are in force together: a call admitted or rejected while fn runs
// sees the new state (an Allow during the callback of a trip to Open is
// rejected). Metrics and audit logs use it; fn must not call back into the
// breaker's transitions.
func WithStateChange(fn func(Transition)) Option {
	return func(b *Breaker) { b.onChange = fn }
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option {
	return func(b *Breaker) { b.clock = now }
}

// WithName names what the breaker protects (a full method, or
// target+method on the client); it appears in rejection messages and
// ErrorInfo metadata.
func WithName(name string) Option {
	return func(b *Breaker) { b.name = name }
}

// WithFailureClassifier replaces IsFailure as the rule deciding which call
// errors count against the breaker.
func WithFailureClassifier(isFailure func(error) bool) Option {
	return func(b *Breaker) { b.isFailure = isFailure }
}

// New returns a closed breaker configured by p. Zero fields of p take the
// Default* values; FailureRatio is clamped to (0,1].
func New(p policy.CircuitBreaker, opts ...Option) *Breaker {
	b := &Breaker{
		failureRatio:     p.FailureRatio,
		minRequests:      uint64(p.MinRequests),
		openFor:          int64(p.OpenFor),
		halfOpenRequests: p.HalfOpenRequests,
		isFailure:        IsFailure,
	}
	if b.failureRatio <= 0 {
		b.failureRatio = DefaultFailureRatio
	}
	if b.failureRatio > 1 {
		b.failureRatio = 1
	}
	if b.minRequests == 0 {
		b.minRequests = DefaultMinRequests
	}
	window := p.Window
	if window <= 0 {
		window = DefaultWindow
	}
	b.bucketWidth = max(int64(window)/buckets, 1)
	if b.openFor <= 0 {
		b.openFor = int64(DefaultOpenFor)
	}
	if b.halfOpenRequests == 0 {
		b.halfOpenRequests = DefaultHalfOpenRequests
	}
	for _, o := range opts {
		o(b)
	}
	if b.clock != nil {
		b.base = b.clock()
	} else {
		b.base = time.Now()
	}
	for s := range b.shards {
		for i := range b.shards[s].ring {
			b.shards[s].ring[i].epoch.Store(-1)
		}
	}
	b.regime.Store(&regime{state: Closed})
	return b
}

// now reads the monotonic clock as nanoseconds since the breaker was built.
func (b *Breaker) now() int64 {
	if b.clock != nil {
		return int64(b.clock().Sub(b.base))
	}
	return int64(time.Since(b.base))
}

// State returns the breaker's current state. An open breaker whose OpenFor
// has passed still reports Open until the next Allow moves it to half-open.
func (b *Breaker) State() State { return b.regime.Load().state }

// Permit is an admission by Allow. Report the call's outcome with Done,
// DoneContext or Record exactly once. The zero Permit ignores outcomes.
type Permit struct {
	b *Breaker
	r *regime
}

// Allow admits a call or rejects it with UNAVAILABLE carrying ErrorInfo
// reason CIRCUIT_OPEN and a RetryInfo delay until the breaker will probe
// again. It allocates nothing when it admits.
func (b *Breaker) Allow() (Permit, error) {
	r := b.regime.Load()
	switch r.state {
	case Closed:
		return Permit{b, r}, nil
	case Open:
		now := b.now()
		if wait := r.until - now; wait > 0 {
			return Permit{}, b.rejection(time.Duration(wait))
		}
		b.transition(r, HalfOpen, now+b.openFor, Transition{})
		return b.Allow()
	}
	// Half-open: admit the first halfOpenRequests probes of this generation.
	if countInGeneration(&b.probes, r.gen) <= b.halfOpenRequests {
		return Permit{b, r}, nil
	}
	// Probes whose outcome never came (a lost permit, a hung call) must not
	// keep the breaker half-open forever: after OpenFor, probe afresh.
	now := b.now()
	if now >= r.until {
		b.transition(r, HalfOpen, now+b.openFor, Transition{})
		return b.Allow()
	}
	return Permit{}, b.rejection(time.Duration(r.until - now))
}

// Done records the outcome of the admitted call, classifying err with the
// breaker's failure classifier (IsFailure by default).
func (p Permit) Done(err error) {
	p.DoneContext(nil, err)
}

// DoneContext is Done for a call whose context should travel with the
// state change its outcome may cause (Transition.Context), so that the
// change can name the call that tripped the breaker.
func (p Permit) DoneContext(ctx context.Context, err error) {
	if p.b == nil {
		return
	}
	p.record(ctx, err != nil && p.b.isFailure(err))
}

// Record records the outcome of the admitted call: failed counts against
// the breaker.
func (p Permit) Record(failed bool) {
	p.record(nil, failed)
}

func (p Permit) record(ctx context.Context, failed bool) {
	b := p.b
	if b == nil {
		return
	}
	r := b.regime.Load()
	if r != p.r {
		// The breaker changed state since the call was admitted; its
		// outcome describes a past regime.
		return
	}
	switch r.state {
	case Closed:
		rnd := rand.Uint32()
		sh := &b.shards[rnd&(shards-1)]
		if !failed {
			// Fast path: one atomic add on this shard; the clock is read
			// once per clockEvery successes to date them.
			if sh.pending.Add(1) < clockEvery {
				return
			}
			if n := sh.pending.Swap(0); n > 0 {
				b.slot(sh, b.advance(b.now())).counts.Add(n * oneCall)
			}
			return
		}
		now := b.now()
		epoch := b.advance(now)
		b.flushPending(epoch)
		b.slot(sh, epoch).counts.Add(oneCall | oneFailure)
		calls, failures := b.window(epoch)
		if calls >= b.minRequests && float64(failures) >= b.failureRatio*float64(calls) {
			b.transition(r, Open, now+b.openFor, Transition{Calls: calls, Failures: failures, Context: ctx})
		}
	case HalfOpen:
		if failed {
			probes := uint64(inGeneration(b.probes.Load(), r.gen))
			b.transition(r, Open, b.now()+b.openFor, Transition{Calls: probes, Failures: 1, Context: ctx})
			return
		}
		if countInGeneration(&b.probeSuccesses, r.gen) >= b.halfOpenRequests {
			b.transition(r, Closed, 0, Transition{Context: ctx})
		}
	}
}

// advance returns the slice index of clock reading now and moves the
// breaker's current slice forward to it.
func (b *Breaker) advance(now int64) int64 {
	epoch := now / b.bucketWidth
	for {
		cur := b.epoch.Load()
		if cur >= epoch || b.epoch.CompareAndSwap(cur, epoch) {
			return epoch
		}
	}
}

// slot returns the bucket of epoch in shard sh, starting it at zero if it
// still holds an older slice. A concurrent caller may add to it just before
// the reset: the window is approximate by at most those few calls.
func (b *Breaker) slot(sh *shard, epoch int64) *bucket {
	bk := &sh.ring[epoch%buckets]
	if old := bk.epoch.Load(); old < epoch {
		if bk.epoch.CompareAndSwap(old, epoch) {
			bk.counts.Store(0)
		}
	}
	return bk
}

// flushPending dates every shard's pending successes at epoch, so that a
// failure is judged against all successes recorded before it.
func (b *Breaker) flushPending(epoch int64) {
	for s := range b.shards {
		sh := &b.shards[s]
		if n := sh.pending.Swap(0); n > 0 {
			b.slot(sh, epoch).counts.Add(n * oneCall)
		}
	}
}

// window sums calls and failures over the slices of the rolling window that
// ends at epoch.
func (b *Breaker) window(epoch int64) (calls, failures uint64) {
	for s := range b.shards {
		for i := range b.shards[s].ring {
			bk := &b.shards[s].ring[i]
			if e := bk.epoch.Load(); e > epoch-buckets && e <= epoch {
				c := bk.counts.Load()
				calls += c >> 32
				failures += c & (oneCall - 1)
			}
		}
	}
	return calls, failures
}

// Counts returns the calls and failures in the current rolling window,
// successes not yet dated included.
func (b *Breaker) Counts() (calls, failures uint64) {
	calls, failures = b.window(b.now() / b.bucketWidth)
	for s := range b.shards {
		calls += b.shards[s].pending.Load()
	}
	return calls, failures
}

// transition replaces regime from with a regime in state to whose deadline
// is until, if no other goroutine transitioned first, and then reports it
// to the state-change callback. It reports whether it did.
func (b *Breaker) transition(from *regime, to State, until int64, t Transition) bool {
	if to == Closed {
		// Start the new closed regime with an empty window, before
		// publishing it, so that no closed-state call sees stale counts.
		for s := range b.shards {
			b.shards[s].pending.Store(0)
			for i := range b.shards[s].ring {
				b.shards[s].ring[i].epoch.Store(-1)
				b.shards[s].ring[i].counts.Store(0)
			}
		}
	}
	if !b.regime.CompareAndSwap(from, &regime{state: to, gen: from.gen + 1, until: until}) {
		return false
	}
	if b.onChange != nil && from.state != to {
		t.From, t.To = from.state, to
		b.onChange(t)
	}
	return true
}

func (b *Breaker) rejection(retryAfter time.Duration) error {
	var md map[string]string
	if b.name != "" {
		md = map[string]string{"method": b.name}
	}
	return errinfo.Error(codes.Unavailable, errinfo.CircuitOpen,
		fmt.Sprintf("circuit breaker of %s is open: the recent failure ratio crossed %.2f; retry after the RetryInfo delay", b.nameOr(), b.failureRatio),
		retryAfter, md)
}

func (b *Breaker) nameOr() string {
	if b.name == "" {
		return "this call"
	}
	return b.name
}

// inGeneration returns the count packed in v when it belongs to generation
// gen, else 0.
func inGeneration(v, gen uint64) uint32 {
	if v>>32 != gen&(1<<32-1) {
		return 0
	}
	return uint32(v)
}

// countInGeneration increments the count packed in a for generation gen,
// starting it at one when a holds an older generation, and returns it.
func countInGeneration(a *atomic.Uint64, gen uint64) uint32 {
	gen &= 1<<32 - 1
	for {
		old := a.Load()
		next := gen<<32 | 1
		if old>>32 == gen {
			next = old + 1
		}
		if a.CompareAndSwap(old, next) {
			return uint32(next)
		}
	}
}

// IsFailure is the default failure classifier: errors whose gRPC code (as
// errinfo.Code reads it, the same code metrics and logs record) says the
// server or its dependencies failed (UNKNOWN, DEADLINE_EXCEEDED, INTERNAL,
// UNAVAILABLE, DATA_LOSS) count; errors that describe the caller's request
// (INVALID_ARGUMENT, NOT_FOUND, ...), a caller that gave up (CANCELLED,
// including a bare context.Canceled) and RESOURCE_EXHAUSTED rejections of
// rate limits do not.
func IsFailure(err error) bool {
	switch errinfo.Code(err) {
	case codes.Unknown, codes.DeadlineExceeded, codes.Internal, codes.Unavailable, codes.DataLoss:
		return true
	default:
		return false
	}
}
