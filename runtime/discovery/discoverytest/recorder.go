package discoverytest

import (
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"
)

// StateRecorder is a resolver.ClientConn that records when each address
// first reaches it: the moment a registry change would reach a balancer
// (and so the picker, which the balancer rebuilds synchronously).
type StateRecorder struct {
	resolver.ClientConn
	mu     sync.Mutex
	seen   map[string]time.Time
	notify chan struct{}
}

// NewStateRecorder returns an empty StateRecorder.
func NewStateRecorder() *StateRecorder {
	return &StateRecorder{seen: map[string]time.Time{}, notify: make(chan struct{}, 1)}
}

// UpdateState records the addresses of s.
func (r *StateRecorder) UpdateState(s resolver.State) error {
	now := time.Now()
	r.mu.Lock()
	for _, a := range s.Addresses {
		if _, ok := r.seen[a.Addr]; !ok {
			r.seen[a.Addr] = now
		}
	}
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return nil
}

// ReportError ignores resolver errors; the latency is what is measured.
func (r *StateRecorder) ReportError(error) {}

// ParseServiceConfig is never called by the govern resolver.
func (r *StateRecorder) ParseServiceConfig(string) *serviceconfig.ParseResult { return nil }

// WaitFor returns when addr first reached the recorder, waiting up to
// timeout; ok is false when it did not arrive.
func (r *StateRecorder) WaitFor(addr string, timeout time.Duration) (at time.Time, ok bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		at, ok = r.seen[addr]
		r.mu.Unlock()
		if ok {
			return at, true
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			return time.Time{}, false
		}
	}
}

// Percentiles returns the P50 and P99 of ds (nearest rank).
func Percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.5) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return rank(0.50), rank(0.99)
}
