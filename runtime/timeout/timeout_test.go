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
			bounded := Bound(parent, tt.policy)
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

func TestDoneFiresAtDeadline(t *testing.T) {
	bounded := Bound(context.Background(), 20*time.Millisecond)
	defer bounded.Release()
	if bounded.Err() != nil {
		t.Fatalf("Err before deadline = %v", bounded.Err())
	}
	select {
	case <-bounded.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed at the deadline")
	}
	if !errors.Is(bounded.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err = %v, want DeadlineExceeded", bounded.Err())
	}
}

func TestErrWithoutArming(t *testing.T) {
	bounded := Bound(context.Background(), time.Millisecond)
	defer bounded.Release()
	time.Sleep(3 * time.Millisecond)
	if !errors.Is(bounded.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err = %v, want DeadlineExceeded without anyone waiting on Done", bounded.Err())
	}
	if bounded.armed.Load() != nil {
		t.Fatal("Err armed a timer")
	}
}

func TestParentCancellationPropagates(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	bounded := Bound(parent, time.Hour)
	defer bounded.Release()
	if bounded.Value(key{}) != "v" {
		t.Fatal("parent value lost")
	}
	child, cancelChild := context.WithCancel(bounded)
	defer cancelChild()
	if child.Value(key{}) != "v" {
		t.Fatal("parent value lost through an armed child")
	}
	cancel()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("parent cancellation did not reach a child of the bounded context")
	}
	if !errors.Is(bounded.Err(), context.Canceled) {
		t.Fatalf("Err = %v, want Canceled", bounded.Err())
	}
}

func TestRelease(t *testing.T) {
	t.Run("release before arming", func(t *testing.T) {
		bounded := Bound(context.Background(), time.Hour)
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
	t.Run("release after arming", func(t *testing.T) {
		bounded := Bound(context.Background(), time.Hour)
		done := bounded.Done()
		bounded.Release()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Release did not close Done")
		}
	})
}

func BenchmarkBoundRelease(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		bounded := Bound(ctx, time.Second)
		bounded.Release()
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

func TestBoundAtUsesTheGivenStart(t *testing.T) {
	start := time.Now().Add(-time.Hour)
	if BoundAt(context.Background(), start, time.Minute) == nil {
		t.Fatal("BoundAt returned nil for a positive timeout")
	}
	bounded := BoundAt(context.Background(), start, time.Minute)
	defer bounded.Release()
	if d, _ := bounded.Deadline(); !d.Equal(start.Add(time.Minute)) {
		t.Fatalf("deadline %v, want start+1m", d)
	}
	if !errors.Is(bounded.Err(), context.DeadlineExceeded) {
		t.Fatalf("a deadline in the past: Err = %v", bounded.Err())
	}
}

func TestConcurrentDoneAndRelease(t *testing.T) {
	for range 200 {
		bounded := Bound(context.Background(), time.Hour)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { <-bounded.Done() })
		}
		wg.Go(func() { _ = bounded.Err() })
		wg.Go(bounded.Release)
		wg.Wait() // every waiter was released: Release and arming never miss each other
		if !errors.Is(bounded.Err(), context.Canceled) {
			t.Fatalf("Err after Release = %v", bounded.Err())
		}
	}
}
