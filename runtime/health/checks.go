package health

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// CheckFunc reports whether a dependency is healthy: nil means it is. It must
// honour ctx, which carries the check's timeout.
type CheckFunc func(ctx context.Context) error

// Defaults of a Checks registry.
const (
	// DefaultCacheTTL is how long a check result is reused.
	DefaultCacheTTL = time.Second
	// DefaultTimeout bounds a check that was registered without WithTimeout.
	DefaultTimeout = 2 * time.Second
)

// ErrShuttingDown is the readiness error reported once Shutdown was called.
var ErrShuttingDown = errors.New("health: shutting down, draining connections")

// Status is the outcome of one check.
type Status string

const (
	StatusOK   Status = "ok"
	StatusFail Status = "fail"
)

// Result is one check's latest outcome.
type Result struct {
	Name   string
	Status Status
	// Err is the check's error, nil when Status is StatusOK.
	Err error
	// Duration is how long the check ran. For a check that has not
	// returned (it outlived its timeout, or the probe stopped waiting) it is
	// how long it has been running so far: a hanging dependency shows its
	// real wait, never 0.
	Duration time.Duration
	// CheckedAt is when the result was produced; cached results keep it.
	CheckedAt time.Time
	// Liveness reports whether the check counts for liveness as well as
	// readiness.
	Liveness bool
	// Database reports whether the check is the service's database ping.
	Database bool
}

// OK reports whether the check passed.
func (r Result) OK() bool { return r.Status == StatusOK }

// Report is the outcome of a set of checks.
type Report struct {
	// OK is true when every check in Results passed and the registry is not
	// shutting down (for a readiness report).
	OK bool
	// ShuttingDown is true once Shutdown was called.
	ShuttingDown bool
	// Results are sorted by name.
	Results []Result
}

// Database returns the result of the check registered with AsDatabase.
func (r Report) Database() (Result, bool) {
	for _, res := range r.Results {
		if res.Database {
			return res, true
		}
	}
	return Result{}, false
}

// Option configures a Checks registry.
type Option func(*Checks)

// WithCacheTTL sets how long a check result is reused before the check runs
// again; 0 disables caching (concurrent probes still share one run).
func WithCacheTTL(ttl time.Duration) Option {
	return func(c *Checks) { c.ttl = max(ttl, 0) }
}

// WithDefaultTimeout sets the timeout of checks registered without
// WithTimeout.
func WithDefaultTimeout(d time.Duration) Option {
	return func(c *Checks) {
		if d > 0 {
			c.defaultTimeout = d
		}
	}
}

// WithClock replaces time.Now; tests use it to step through cache expiry.
func WithClock(now func() time.Time) Option {
	return func(c *Checks) {
		if now != nil {
			c.now = now
		}
	}
}

// CheckOption configures one registered check.
type CheckOption func(*check)

// WithTimeout bounds one run of the check; a check still running at the
// timeout fails with context.DeadlineExceeded.
func WithTimeout(d time.Duration) CheckOption {
	return func(c *check) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithLiveness makes the check count for liveness (/livez) as well as
// readiness. Use it only for failures a restart fixes (a deadlocked worker),
// never for a dependency: a database outage must not restart every replica.
func WithLiveness() CheckOption {
	return func(c *check) { c.liveness = true }
}

// AsDatabase marks the check as the service's database ping; its duration is
// reported as db_ping_ms by the admin /healthz endpoint. At most one check
// may carry it.
func AsDatabase() CheckOption {
	return func(c *check) { c.database = true }
}

// Checks is the registry of a service's health checks. It is safe for
// concurrent use; create it with New.
type Checks struct {
	ttl            time.Duration
	defaultTimeout time.Duration
	now            func() time.Time

	mu     sync.RWMutex
	checks map[string]*check

	shuttingDown atomic.Bool

	subMu   sync.Mutex
	subs    map[int]func(Report)
	nextSub int
}

// New returns an empty registry.
func New(opts ...Option) *Checks {
	c := &Checks{
		ttl:            DefaultCacheTTL,
		defaultTimeout: DefaultTimeout,
		now:            time.Now,
		checks:         make(map[string]*check),
		subs:           make(map[int]func(Report)),
	}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

var checkName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

// Register adds a readiness check. name must be unique, lower case, and
// usable in a URL path (/readyz/<name>): letters, digits, '_', '.', '-'.
func (c *Checks) Register(name string, fn CheckFunc, opts ...CheckOption) error {
	if !checkName.MatchString(name) {
		return fmt.Errorf("health: check name %q is invalid: use 1-63 lower-case letters, digits, '_', '.' or '-'", name)
	}
	if fn == nil {
		return fmt.Errorf("health: check %q has a nil function: pass the function that pings the dependency", name)
	}
	ch := &check{name: name, fn: fn, timeout: c.defaultTimeout}
	for _, opt := range opts {
		opt(ch)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.checks[name]; dup {
		return fmt.Errorf("health: check %q is registered twice: give each check its own name", name)
	}
	if ch.database {
		for _, other := range c.checks {
			if other.database {
				return fmt.Errorf("health: checks %q and %q are both marked AsDatabase: mark only the primary database ping", other.name, name)
			}
		}
	}
	c.checks[name] = ch
	return nil
}

// Names returns the registered check names, sorted.
func (c *Checks) Names() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	names := make([]string, 0, len(c.checks))
	for name := range c.checks {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Readiness runs every check (cached results are reused) concurrently and
// reports whether the service may take traffic. After Shutdown it reports
// not OK without running anything. Subscribers are told the outcome.
func (c *Checks) Readiness(ctx context.Context) Report {
	if c.shuttingDown.Load() {
		rep := Report{ShuttingDown: true}
		c.publish(rep)
		return rep
	}
	rep := c.run(ctx, func(*check) bool { return true })
	if c.shuttingDown.Load() {
		rep.OK, rep.ShuttingDown = false, true
	}
	c.publish(rep)
	return rep
}

// Liveness runs the checks registered WithLiveness. With none it is OK: a
// process that answers is alive. Shutdown does not affect liveness.
func (c *Checks) Liveness(ctx context.Context) Report {
	return c.run(ctx, func(ch *check) bool { return ch.liveness })
}

// All runs every check, like Readiness, without notifying subscribers; the
// admin /healthz endpoint uses it.
func (c *Checks) All(ctx context.Context) Report {
	rep := c.run(ctx, func(*check) bool { return true })
	if c.shuttingDown.Load() {
		rep.OK, rep.ShuttingDown = false, true
	}
	return rep
}

// Check runs one check by name (cached results are reused).
func (c *Checks) Check(ctx context.Context, name string) (Result, bool) {
	c.mu.RLock()
	ch, ok := c.checks[name]
	c.mu.RUnlock()
	if !ok {
		return Result{}, false
	}
	return ch.result(ctx, c.now, c.ttl), true
}

// Shutdown makes readiness fail from now on and tells subscribers at once,
// so grpc.health.v1 watchers see NOT_SERVING before any listener closes. It
// is idempotent.
func (c *Checks) Shutdown() {
	if c.shuttingDown.Swap(true) {
		return
	}
	c.publish(Report{ShuttingDown: true})
}

// ShuttingDown reports whether Shutdown was called.
func (c *Checks) ShuttingDown() bool { return c.shuttingDown.Load() }

// Subscribe calls fn with every readiness report produced from now on (by a
// probe, a poll, or Shutdown). fn runs synchronously on the goroutine that
// produced the report and must not block. The returned function
// unsubscribes.
func (c *Checks) Subscribe(fn func(Report)) (unsubscribe func()) {
	c.subMu.Lock()
	id := c.nextSub
	c.nextSub++
	c.subs[id] = fn
	c.subMu.Unlock()
	return func() {
		c.subMu.Lock()
		delete(c.subs, id)
		c.subMu.Unlock()
	}
}

func (c *Checks) publish(rep Report) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	// A report computed just before Shutdown must not be delivered after
	// Shutdown's own report as if the service were still ready.
	if c.shuttingDown.Load() && rep.OK {
		rep.OK, rep.ShuttingDown = false, true
	}
	// Delivering under subMu keeps the order of changes; subscribers are
	// documented as non-blocking.
	for _, fn := range c.subs {
		fn(rep)
	}
}

func (c *Checks) run(ctx context.Context, include func(*check) bool) Report {
	c.mu.RLock()
	selected := make([]*check, 0, len(c.checks))
	for _, ch := range c.checks {
		if include(ch) {
			selected = append(selected, ch)
		}
	}
	c.mu.RUnlock()
	slices.SortFunc(selected, func(a, b *check) int { return compareStrings(a.name, b.name) })

	results := make([]Result, len(selected))
	var wg sync.WaitGroup
	now := c.now()
	for i, ch := range selected {
		// Cached results are read in place: a probe storm costs no
		// goroutines. Only checks due to run get one each.
		if r, ok := ch.fresh(now, c.ttl); ok {
			results[i] = r
			continue
		}
		wg.Go(func() { results[i] = ch.result(ctx, c.now, c.ttl) })
	}
	wg.Wait()

	rep := Report{OK: true, Results: results}
	for _, r := range results {
		if !r.OK() {
			rep.OK = false
		}
	}
	return rep
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// check is one registered check with its cached result.
type check struct {
	name     string
	fn       CheckFunc
	timeout  time.Duration
	liveness bool
	database bool

	mu       sync.Mutex
	cached   Result
	hasCache bool
	// inflight is closed when the current run finishes; nil when idle.
	inflight chan struct{}
	// runStart is when the current run (in flight or stuck) started, so a
	// probe that stops waiting reports the real wait, never 0.
	runStart time.Time
	// stuck is set while a run that outlived its timeout is still
	// executing; no new run starts until it returns, so a hung dependency
	// cannot pile up goroutines.
	stuck bool
}

// fresh returns the cached result when it is younger than ttl.
func (ch *check) fresh(now time.Time, ttl time.Duration) (Result, bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.hasCache && now.Sub(ch.cached.CheckedAt) < ttl {
		return ch.cached, true
	}
	return Result{}, false
}

// result returns the cached result, or waits for the run in flight (joining
// it or starting it) until it ends or ctx does. The run itself is detached
// from ctx: one impatient probe must not fail the shared, cached result for
// everybody. A probe that stops waiting, and a probe of a check still
// running past its timeout, report how long the check has been running.
func (ch *check) result(ctx context.Context, now func() time.Time, ttl time.Duration) Result {
	ch.mu.Lock()
	if ch.hasCache && now().Sub(ch.cached.CheckedAt) < ttl {
		r := ch.cached
		ch.mu.Unlock()
		return r
	}
	if ch.stuck {
		at := now()
		wait := at.Sub(ch.runStart)
		r := ch.failed(at, wait, fmt.Errorf("check %q has been running for %v, past its %v timeout: %w", ch.name, wait.Round(time.Millisecond), ch.timeout, context.DeadlineExceeded))
		ch.cached, ch.hasCache = r, true
		ch.mu.Unlock()
		return r
	}
	done := ch.inflight
	if done == nil {
		done = make(chan struct{})
		ch.inflight, ch.runStart = done, now()
		go ch.run(context.WithoutCancel(ctx), now, ch.runStart, done)
	}
	started := ch.runStart
	ch.mu.Unlock()

	select {
	case <-done:
		ch.mu.Lock()
		r := ch.cached
		ch.mu.Unlock()
		return r
	case <-ctx.Done():
		at := now()
		wait := at.Sub(started)
		return ch.failed(at, wait, fmt.Errorf("probe gave up on check %q after it had run for %v: %w", ch.name, wait.Round(time.Millisecond), ctx.Err()))
	}
}

// run executes the check once, caches the result and closes done.
func (ch *check) run(ctx context.Context, now func() time.Time, start time.Time, done chan struct{}) {
	r := ch.execute(ctx, now, start)
	ch.mu.Lock()
	ch.cached, ch.hasCache = r, true
	ch.inflight = nil
	ch.mu.Unlock()
	close(done)
}

// execute runs fn once with the check's timeout. A function that ignores
// its context is left running (marked stuck) when the timeout passes.
func (ch *check) execute(ctx context.Context, now func() time.Time, start time.Time) Result {
	runCtx, cancel := context.WithTimeout(ctx, ch.timeout)
	errc := make(chan error, 1)
	go func() {
		defer cancel()
		errc <- ch.call(runCtx)
	}()
	timer := time.NewTimer(ch.timeout)
	defer timer.Stop()
	select {
	case err := <-errc:
		elapsed := now().Sub(start)
		if err != nil {
			return ch.failed(now(), elapsed, err)
		}
		return Result{Name: ch.name, Status: StatusOK, Duration: elapsed, CheckedAt: now(), Liveness: ch.liveness, Database: ch.database}
	case <-timer.C:
		ch.mu.Lock()
		ch.stuck = true
		ch.mu.Unlock()
		go func() {
			<-errc
			ch.mu.Lock()
			ch.stuck = false
			ch.mu.Unlock()
		}()
		return ch.failed(now(), max(now().Sub(start), ch.timeout), fmt.Errorf("check %q did not return within its %v timeout: %w", ch.name, ch.timeout, context.DeadlineExceeded))
	}
}

func (ch *check) call(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("check %q panicked: %v", ch.name, p)
		}
	}()
	return ch.fn(ctx)
}

func (ch *check) failed(at time.Time, d time.Duration, err error) Result {
	return Result{Name: ch.name, Status: StatusFail, Err: err, Duration: d, CheckedAt: at, Liveness: ch.liveness, Database: ch.database}
}
