package discovery

import (
	"context"
	"slices"
	"sync"
)

// MemoryRegistry is a Registry and Registrar kept in process memory: for
// fixed fleets declared in code, for tests, and for examples. Its methods
// are safe for concurrent use.
type MemoryRegistry struct {
	mu       sync.Mutex
	services map[string][]Endpoint
	err      error
	changed  chan struct{} // closed and replaced on every change
}

// NewMemoryRegistry returns an empty MemoryRegistry.
func NewMemoryRegistry() *MemoryRegistry {
	return &MemoryRegistry{services: map[string][]Endpoint{}, changed: make(chan struct{})}
}

// changeLocked wakes every watcher; m.mu must be held.
func (m *MemoryRegistry) changeLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// Set replaces the endpoints of service.
func (m *MemoryRegistry) Set(service string, eps ...Endpoint) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.services[service] = slices.Clone(eps)
	m.changeLocked()
}

// SetError makes every watch and registration fail with err until it is
// set back to nil, as a registry outage would.
func (m *MemoryRegistry) SetError(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
	m.changeLocked()
}

// Endpoints returns the current endpoints of service.
func (m *MemoryRegistry) Endpoints(service string) []Endpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.services[service])
}

// Watch implements Registry.
func (m *MemoryRegistry) Watch(_ context.Context, service string) (Watcher, error) {
	return &memoryWatcher{m: m, service: service}, nil
}

type memoryWatcher struct {
	m       *MemoryRegistry
	service string
	last    []Endpoint
	started bool
}

func (w *memoryWatcher) Next(ctx context.Context) ([]Endpoint, error) {
	for {
		w.m.mu.Lock()
		err, eps, changed := w.m.err, slices.Clone(w.m.services[w.service]), w.m.changed
		w.m.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if !w.started || !SameEndpoints(eps, w.last) {
			w.started, w.last = true, eps
			return eps, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		}
	}
}

func (w *memoryWatcher) Close() error { return nil }

// Register implements Registrar: it adds ep to service.
func (m *MemoryRegistry) Register(_ context.Context, service string, ep Endpoint) (Registration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	eps := slices.DeleteFunc(m.services[service], func(e Endpoint) bool { return e.Addr == ep.Addr })
	m.services[service] = append(eps, ep)
	m.changeLocked()
	return &memoryRegistration{m: m, service: service, addr: ep.Addr, lost: make(chan struct{})}, nil
}

type memoryRegistration struct {
	m             *MemoryRegistry
	service, addr string
	lost          chan struct{}
}

func (r *memoryRegistration) Lost() <-chan struct{} { return r.lost }

func (r *memoryRegistration) Deregister(context.Context) error {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	if r.m.err != nil {
		return r.m.err
	}
	r.m.services[r.service] = slices.DeleteFunc(r.m.services[r.service], func(e Endpoint) bool { return e.Addr == r.addr })
	r.m.changeLocked()
	return nil
}
