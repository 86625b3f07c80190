package health

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a manually advanced clock for cache-expiry tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func ok(context.Context) error { return nil }

func TestRegisterValidation(t *testing.T) {
	tests := []struct {
		name    string
		check   string
		fn      CheckFunc
		opts    []CheckOption
		wantErr string
	}{
		{name: "valid", check: "redis", fn: ok},
		{name: "valid with punctuation", check: "db.primary-1_a", fn: ok},
		{name: "empty name", check: "", fn: ok, wantErr: "invalid"},
		{name: "upper case", check: "Redis", fn: ok, wantErr: "invalid"},
		{name: "slash", check: "a/b", fn: ok, wantErr: "invalid"},
		{name: "nil function", check: "x", fn: nil, wantErr: "nil function"},
		{name: "duplicate", check: "dup", fn: ok, wantErr: "registered twice"},
		{name: "second database", check: "db2", fn: ok, opts: []CheckOption{AsDatabase()}, wantErr: "both marked AsDatabase"},
	}
	c := New()
	if err := c.Register("dup", ok); err != nil {
		t.Fatal(err)
	}
	if err := c.Register("db1", ok, AsDatabase()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Register(tt.check, tt.fn, tt.opts...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Register(%q) = %v, want nil", tt.check, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Register(%q) = %v, want error containing %q", tt.check, err, tt.wantErr)
			}
		})
	}
}

func TestReadinessRunsChecksConcurrently(t *testing.T) {
	c := New(WithCacheTTL(0))
	// Each check waits until all three are running: sequential execution
	// would time out.
	var started sync.WaitGroup
	started.Add(3)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	for _, name := range []string{"a", "b", "c"} {
		err := c.Register(name, func(ctx context.Context) error {
			started.Done()
			select {
			case <-all:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, WithTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
	}
	rep := c.Readiness(context.Background())
	if !rep.OK {
		t.Fatalf("readiness = %+v, want OK", rep)
	}
	if got := []string{rep.Results[0].Name, rep.Results[1].Name, rep.Results[2].Name}; strings.Join(got, ",") != "a,b,c" {
		t.Fatalf("results order = %v, want sorted a,b,c", got)
	}
}

func TestCacheSharesOneRunPerTTL(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	c := New(WithCacheTTL(time.Second), WithClock(clock.Now))
	var calls atomic.Int32
	release := make(chan struct{})
	if err := c.Register("db", func(context.Context) error {
		calls.Add(1)
		<-release
		return nil
	}, WithTimeout(10*time.Second)); err != nil {
		t.Fatal(err)
	}

	// A probe storm while the first run is in flight shares that run.
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if rep := c.Readiness(context.Background()); !rep.OK {
				t.Errorf("readiness during storm = %+v", rep)
			}
		})
	}
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the storm pile up on the in-flight run
	close(release)
	wg.Wait()
	if got := calls.Load(); got != 1 {
		t.Fatalf("check ran %d times for 50 concurrent probes, want 1", got)
	}

	// Within the TTL the cached result is served.
	clock.Advance(500 * time.Millisecond)
	c.Readiness(context.Background())
	if got := calls.Load(); got != 1 {
		t.Fatalf("check ran %d times within TTL, want 1", got)
	}
	// After the TTL it runs again.
	clock.Advance(600 * time.Millisecond)
	c.Readiness(context.Background())
	if got := calls.Load(); got != 2 {
		t.Fatalf("check ran %d times after TTL, want 2", got)
	}
}

func TestCheckFailures(t *testing.T) {
	boom := errors.New("connection refused")
	tests := []struct {
		name    string
		fn      CheckFunc
		wantErr string
		wantIs  error
	}{
		{name: "error", fn: func(context.Context) error { return boom }, wantErr: "connection refused", wantIs: boom},
		{name: "panic", fn: func(context.Context) error { panic("nil map") }, wantErr: "panicked: nil map"},
		{name: "timeout honouring ctx", fn: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, wantIs: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			if err := c.Register("dep", tt.fn, WithTimeout(20*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			rep := c.Readiness(context.Background())
			if rep.OK {
				t.Fatal("readiness OK with a failing check")
			}
			res := rep.Results[0]
			if res.Status != StatusFail || res.Err == nil {
				t.Fatalf("result = %+v, want failure", res)
			}
			if tt.wantErr != "" && !strings.Contains(res.Err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", res.Err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(res.Err, tt.wantIs) {
				t.Fatalf("error = %v, want errors.Is %v", res.Err, tt.wantIs)
			}
		})
	}
}

func TestHungCheckIsNotRestartedWhileStuck(t *testing.T) {
	c := New(WithCacheTTL(0))
	var calls atomic.Int32
	release := make(chan struct{})
	if err := c.Register("hung", func(context.Context) error {
		calls.Add(1)
		<-release // ignores ctx on purpose
		return nil
	}, WithTimeout(10*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		rep := c.Readiness(context.Background())
		if rep.OK || !errors.Is(rep.Results[0].Err, context.DeadlineExceeded) {
			t.Fatalf("readiness = %+v, want deadline failure", rep)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("hung check started %d times, want 1", got)
	}
	close(release)
	// Once it returns, the next probe runs it again.
	deadline := time.Now().Add(2 * time.Second)
	for {
		if rep := c.Readiness(context.Background()); rep.OK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("check never recovered after the hung run returned")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLivenessOnlyRunsLivenessChecks(t *testing.T) {
	c := New()
	if err := c.Register("db", func(context.Context) error { return errors.New("down") }); err != nil {
		t.Fatal(err)
	}
	if rep := c.Liveness(context.Background()); !rep.OK || len(rep.Results) != 0 {
		t.Fatalf("liveness with only readiness checks = %+v, want OK and empty", rep)
	}
	if err := c.Register("deadlock", func(context.Context) error { return errors.New("worker stuck") }, WithLiveness()); err != nil {
		t.Fatal(err)
	}
	rep := c.Liveness(context.Background())
	if rep.OK || len(rep.Results) != 1 || rep.Results[0].Name != "deadlock" {
		t.Fatalf("liveness = %+v, want only the failing liveness check", rep)
	}
}

func TestShutdownFailsReadinessAndNotifies(t *testing.T) {
	c := New()
	if err := c.Register("db", ok, AsDatabase()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []Report
	unsub := c.Subscribe(func(r Report) { mu.Lock(); seen = append(seen, r); mu.Unlock() })
	defer unsub()

	if rep := c.Readiness(context.Background()); !rep.OK {
		t.Fatalf("readiness before shutdown = %+v", rep)
	}
	if _, found := c.Readiness(context.Background()).Database(); !found {
		t.Fatal("Database() did not find the AsDatabase check")
	}
	c.Shutdown()
	c.Shutdown()
	if rep := c.Readiness(context.Background()); rep.OK || !rep.ShuttingDown {
		t.Fatalf("readiness after shutdown = %+v, want not OK, shutting down", rep)
	}
	if rep := c.Liveness(context.Background()); !rep.OK {
		t.Fatalf("liveness after shutdown = %+v, want OK", rep)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 3 || !seen[0].OK || seen[2].OK || !seen[2].ShuttingDown {
		t.Fatalf("subscriber saw %+v, want OK, OK, then shutting down", seen)
	}
}

func TestCheckByName(t *testing.T) {
	c := New()
	if err := c.Register("db", ok); err != nil {
		t.Fatal(err)
	}
	if res, found := c.Check(context.Background(), "db"); !found || !res.OK() {
		t.Fatalf("Check(db) = %+v, %v", res, found)
	}
	if _, found := c.Check(context.Background(), "nope"); found {
		t.Fatal("Check(nope) found a check")
	}
	if got := strings.Join(c.Names(), ","); got != "db" {
		t.Fatalf("Names() = %q", got)
	}
}

// TestProbeThatGivesUpReportsTheRealWait: a probe that stops waiting for a
// hanging database check (its own context ends while another probe's run
// is in flight) reports how long the check has been running, not 0.
func TestProbeThatGivesUpReportsTheRealWait(t *testing.T) {
	c := New(WithCacheTTL(0))
	entered, release := make(chan struct{}), make(chan struct{})
	if err := c.Register("db", func(context.Context) error {
		close(entered)
		<-release // a database that hangs and ignores ctx
		return nil
	}, AsDatabase(), WithTimeout(time.Minute)); err != nil {
		t.Fatal(err)
	}
	first := make(chan Report, 1)
	go func() { first <- c.Readiness(context.Background()) }()
	<-entered
	const patience = 30 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	db, ok := c.All(ctx).Database()
	if !ok || db.OK() || !errors.Is(db.Err, context.DeadlineExceeded) {
		t.Fatalf("database result = %+v, want a failure wrapping the probe's deadline", db)
	}
	if db.Duration < patience {
		t.Fatalf("database duration = %v, want the wait so far (>= the probe's %v)", db.Duration, patience)
	}
	close(release)
	if rep := <-first; !rep.OK {
		t.Fatalf("the probe that waited for the run = %+v, want ok", rep)
	}
}

// TestStuckCheckReportsItsGrowingWait: while a check runs past its
// timeout, every probe reports how long it has been running.
func TestStuckCheckReportsItsGrowingWait(t *testing.T) {
	c := New(WithCacheTTL(0))
	release := make(chan struct{})
	defer close(release)
	const timeout = 10 * time.Millisecond
	if err := c.Register("db", func(context.Context) error {
		<-release
		return nil
	}, AsDatabase(), WithTimeout(timeout)); err != nil {
		t.Fatal(err)
	}
	var last time.Duration
	for i := range 3 {
		db, _ := c.All(context.Background()).Database()
		if db.OK() || !errors.Is(db.Err, context.DeadlineExceeded) || db.Duration < timeout || db.Duration <= last {
			t.Fatalf("probe %d: %+v, want a deadline failure with a wait above %v and the previous %v", i, db, timeout, last)
		}
		last = db.Duration
		time.Sleep(5 * time.Millisecond) // let the wait grow between probes
	}
}
