package timeout

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBoundDeadline(t *testing.T) {
	w := NewWheel()
	tests := []struct {
		name        string
		incoming    time.Duration // 0: no incoming deadline
		policy      time.Duration
		wantBounded bool
	}{
		{"no incoming deadline takes the policy", 0, time.Second, true},
		{"later incoming deadline is shortened", time.Hour, time.Second, true},
		{"earlier incoming deadline is kept", time.Second, time.Hour, false},
		{"no policy timeout keeps the incoming context", time.Second, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := context.Background()
			if tt.incoming > 0 {
				var cancel context.CancelFunc
				parent, cancel = context.WithTimeout(parent, tt.incoming)
				defer cancel()
			}
			bounded := w.Bound(parent, tt.policy)
			if (bounded != nil) != tt.wantBounded {
				t.Fatalf("Bound returned %v, want bounded=%v", bounded, tt.wantBounded)
			}
			if bounded == nil {
				return
			}
			defer bounded.Release()
			d, ok := bounded.Deadline()
			if !ok || time.Until(d) > tt.policy || time.Until(d) < tt.policy-time.Second {
				t.Fatalf("deadline in %v, want about %v", time.Until(d), tt.policy)
			}
		})
	}
}

// Done closes at the deadline, never before it, and Err then says why.
func TestDoneClosesAtTheDeadline(t *testing.T) {
	w := NewWheel()
	for range 20 {
		bounded := w.Bound(context.Background(), 5*time.Millisecond)
		if bounded.Err() != nil {
			t.Fatalf("Err before deadline = %v", bounded.Err())
		}
		select {
		case <-bounded.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("Done not closed at the deadline")
		}
		if d, _ := bounded.Deadline(); time.Now().Before(d) {
			t.Fatal("Done closed before the deadline")
		}
		if !errors.Is(bounded.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err = %v, want DeadlineExceeded", bounded.Err())
		}
		bounded.Release()
		if !errors.Is(bounded.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err after Release = %v, want it to stay DeadlineExceeded", bounded.Err())
		}
	}
}

func TestErrWithoutDoneCreatesNoChannel(t *testing.T) {
	bounded := NewWheel().Bound(context.Background(), time.Millisecond)
	defer bounded.Release()
	time.Sleep(3 * time.Millisecond)
	if !errors.Is(bounded.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err = %v, want DeadlineExceeded without anyone waiting on Done", bounded.Err())
	}
	if bounded.done.Load() != nil {
		t.Fatal("Err created a Done channel")
	}
	select {
	case <-bounded.Done():
	default:
		t.Fatal("Done of a context whose Err is non-nil is open")
	}
}

// Once non-nil, Err never changes (the context.Context contract), whatever
// happens next and whether or not anyone called Done.
func TestErrIsStable(t *testing.T) {
	w := NewWheel()
	past := time.Now().Add(-time.Hour)
	tests := []struct {
		name  string
		steps func(c *Context, cancelParent context.CancelFunc)
		want  error
	}{
		{"deadline seen, then parent cancelled", func(c *Context, cancel context.CancelFunc) {
			_ = c.Err()
			cancel()
		}, context.DeadlineExceeded},
		{"deadline seen, then Release, then Done", func(c *Context, cancel context.CancelFunc) {
			_ = c.Err()
			c.Release()
			<-c.Done()
		}, context.DeadlineExceeded},
		{"deadline passed unseen, then Release, then Done", func(c *Context, cancel context.CancelFunc) {
			c.Release()
			<-c.Done()
		}, context.DeadlineExceeded},
		{"parent cancelled and seen, then Release", func(c *Context, cancel context.CancelFunc) {
			cancel()
			_ = c.Err()
			c.Release()
			<-c.Done()
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := w.BoundAt(parent, past, time.Minute) // deadline passed 59 minutes ago
			tt.steps(c, cancel)
			for range 3 {
				if err := c.Err(); err != tt.want {
					t.Fatalf("Err = %v, want %v throughout", err, tt.want)
				}
			}
		})
	}
	t.Run("released before the deadline stays Canceled", func(t *testing.T) {
		c := w.Bound(context.Background(), 2*time.Millisecond)
		c.Release()
		time.Sleep(3 * time.Millisecond)
		<-c.Done()
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err = %v, want Canceled", c.Err())
		}
	})
}

// Err is nil exactly while Done is open, under concurrent Done, Err,
// Release, deadline and parent cancellation.
func TestErrFollowsDoneUnderRaces(t *testing.T) {
	w := NewWheel(WithParentPoll(time.Millisecond))
	for i := range 300 {
		parent, cancel := context.WithCancel(context.Background())
		c := w.Bound(parent, time.Duration(i%3)*time.Millisecond+time.Microsecond)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 2 {
			wg.Go(func() {
				for range 50 {
					done := false
					select {
					case <-c.Done():
						done = true
					default:
					}
					if err := c.Err(); done && err == nil {
						errs <- errors.New("Done closed but Err nil")
						return
					}
				}
			})
		}
		wg.Go(func() {
			first := c.Err()
			for range 50 {
				if err := c.Err(); first != nil && err != first {
					errs <- errors.New("Err changed from " + first.Error() + " to " + err.Error())
					return
				} else if first == nil {
					first = err
				}
			}
		})
		switch i % 3 {
		case 0:
			wg.Go(cancel)
		case 1:
			wg.Go(c.Release)
		}
		wg.Wait()
		<-c.Done()
		if c.Err() == nil {
			t.Fatal("Done closed, Err nil")
		}
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		c.Release()
		cancel()
	}
}

func TestParentCancellationPropagates(t *testing.T) {
	type key struct{}
	w := NewWheel()
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	bounded := w.Bound(parent, time.Hour)
	defer bounded.Release()
	if bounded.Value(key{}) != "v" {
		t.Fatal("parent value lost")
	}
	child, cancelChild := context.WithCancel(bounded)
	defer cancelChild()
	if child.Value(key{}) != "v" {
		t.Fatal("parent value lost through a child")
	}
	cancel()
	for _, ctx := range []context.Context{bounded, child} {
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("parent cancellation did not reach Done")
		}
	}
	if !errors.Is(bounded.Err(), context.Canceled) || !errors.Is(child.Err(), context.Canceled) {
		t.Fatalf("Err = %v / %v, want Canceled", bounded.Err(), child.Err())
	}
}

// Children, context.AfterFunc and context.Cause see the deadline.
func TestDerivedContextsSeeTheDeadline(t *testing.T) {
	w := NewWheel()
	// The parent is cancelable, so the context package would find it as
	// the nearest cancelCtx if the bounded context let it see through.
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	bounded := w.Bound(parent, 5*time.Millisecond)
	defer bounded.Release()
	child, cancelChild := context.WithCancel(bounded)
	defer cancelChild()
	ran := make(chan struct{})
	stop := context.AfterFunc(bounded, func() { close(ran) })
	defer stop()
	stopped := context.AfterFunc(bounded, func() { t.Error("stopped AfterFunc ran") })
	if !stopped() {
		t.Fatal("stop of a pending AfterFunc returned false")
	}
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("child of a bounded context not cancelled at its deadline")
	}
	<-ran
	if !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Fatalf("child Err = %v, want DeadlineExceeded", child.Err())
	}
	if cause := context.Cause(bounded); !errors.Is(cause, context.DeadlineExceeded) {
		t.Fatalf("Cause = %v, want DeadlineExceeded", cause)
	}
}

func TestRelease(t *testing.T) {
	w := NewWheel()
	t.Run("release before Done", func(t *testing.T) {
		bounded := w.Bound(context.Background(), time.Hour)
		bounded.Release()
		bounded.Release()
		if !errors.Is(bounded.Err(), context.Canceled) {
			t.Fatalf("Err = %v, want Canceled", bounded.Err())
		}
		select {
		case <-bounded.Done():
		default:
			t.Fatal("Done of a released context is open")
		}
	})
	t.Run("release after Done leaves the wheel", func(t *testing.T) {
		bounded := w.Bound(context.Background(), time.Hour)
		done := bounded.Done()
		bounded.Release()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Release did not close Done")
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.count != 0 || bounded.pos != 0 {
			t.Fatalf("released context still in the wheel (%d entries)", w.count)
		}
	})
}

// ReleaseAt decides by the time it is given whether the deadline came
// first: a call that ended past its deadline is DeadlineExceeded, one that
// ended before it Canceled, whatever the clock says when ReleaseAt runs.
func TestReleaseAtUsesTheGivenTime(t *testing.T) {
	w := NewWheel()
	start := time.Now()
	late := w.BoundAt(context.Background(), start, time.Hour)
	late.ReleaseAt(start.Add(2 * time.Hour))
	if !errors.Is(late.Err(), context.DeadlineExceeded) {
		t.Fatalf("released after its deadline: Err = %v, want DeadlineExceeded", late.Err())
	}
	early := w.BoundAt(context.Background(), start.Add(-time.Hour), 30*time.Minute)
	early.ReleaseAt(start.Add(-45 * time.Minute))
	if !errors.Is(early.Err(), context.Canceled) {
		t.Fatalf("released before its deadline: Err = %v, want Canceled", early.Err())
	}
}

func TestBoundAtUsesTheGivenStart(t *testing.T) {
	start := time.Now().Add(-time.Hour)
	bounded := NewWheel().BoundAt(context.Background(), start, time.Minute)
	defer bounded.Release()
	if d, _ := bounded.Deadline(); !d.Equal(start.Add(time.Minute)) {
		t.Fatalf("deadline %v, want start+1m", d)
	}
	if !errors.Is(bounded.Err(), context.DeadlineExceeded) {
		t.Fatalf("a deadline in the past: Err = %v", bounded.Err())
	}
}

func TestConcurrentDoneAndRelease(t *testing.T) {
	w := NewWheel()
	for range 200 {
		bounded := w.Bound(context.Background(), time.Hour)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { <-bounded.Done() })
		}
		wg.Go(func() { _ = bounded.Err() })
		wg.Go(bounded.Release)
		wg.Wait() // every waiter was released: Release and Done never miss each other
		if !errors.Is(bounded.Err(), context.Canceled) {
			t.Fatalf("Err after Release = %v", bounded.Err())
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.count != 0 {
		t.Fatalf("%d released contexts left in the wheel", w.count)
	}
}

// Many waiters with deadlines over several wheel revolutions all end, in
// deadline order within a tick.
func TestManyDeadlinesAcrossRevolutions(t *testing.T) {
	w := NewWheel(WithTick(100 * time.Microsecond))
	var wg sync.WaitGroup
	for i := range 200 {
		c := w.Bound(context.Background(), time.Duration(i%70)*time.Millisecond+time.Millisecond)
		wg.Go(func() {
			defer c.Release()
			<-c.Done()
			if d, _ := c.Deadline(); time.Now().Before(d) {
				t.Error("Done closed before the deadline")
			}
		})
	}
	wg.Wait()
}

func BenchmarkBoundRelease(b *testing.B) {
	w := NewWheel()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		bounded := w.Bound(ctx, time.Second)
		bounded.Release()
	}
}

// BenchmarkBoundDoneRelease: a handler that selects on Done.
func BenchmarkBoundDoneRelease(b *testing.B) {
	w := NewWheel()
	for _, parent := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"background", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
		{"cancelable", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
	} {
		ctx, cancel := parent.ctx()
		b.Run("wheel-"+parent.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bounded := w.Bound(ctx, time.Second)
				select {
				case <-bounded.Done():
				default:
				}
				bounded.Release()
			}
		})
		b.Run("afterfunc-timer-"+parent.name, func(b *testing.B) {
			// The other design measured: a runtime timer per waited-on
			// context, as a lazily armed context.WithDeadline would need.
			b.ReportAllocs()
			for b.Loop() {
				done := make(chan struct{})
				t := time.AfterFunc(time.Second, func() { close(done) })
				var stop func() bool
				if ctx.Done() != nil {
					stop = context.AfterFunc(ctx, func() {})
				}
				select {
				case <-done:
				default:
				}
				t.Stop()
				if stop != nil {
					stop()
				}
			}
		})
		b.Run("context.WithTimeout-"+parent.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, cancel := context.WithTimeout(ctx, time.Second)
				select {
				case <-c.Done():
				default:
				}
				cancel()
			}
		})
		cancel()
	}
}

func BenchmarkContextWithTimeout(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, cancel := context.WithTimeout(ctx, time.Second)
		cancel()
	}
}
