package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ErrNotRegistered is wrapped by Lifecycle.Ready while the instance is not
// (or no longer) registered.
var ErrNotRegistered = errors.New("not registered in service discovery")

// Lifecycle keeps one instance registered for the life of the process:
// Start registers it, retrying while the registry is down (the service
// serves meanwhile, and Ready says why it is not discoverable), registers
// again when a registration is lost, and Stop deregisters it. Wire Ready as
// a health check named "discovery" and Stop as the serve shutdown hook, so
// that /readyz?verbose shows the registration and deregistration happens
// after readiness goes false and before the drain.
type Lifecycle struct {
	registrar Registrar
	service   string
	endpoint  Endpoint
	logger    *slog.Logger
	backoff   time.Duration
	maxWait   time.Duration

	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	current Registration
	lastErr error
	started bool
}

// LifecycleOption configures a Lifecycle.
type LifecycleOption func(*Lifecycle)

// WithLifecycleLogger sets the logger of registration attempts.
func WithLifecycleLogger(l *slog.Logger) LifecycleOption {
	return func(lc *Lifecycle) { lc.logger = l }
}

// WithRegisterBackoff sets the first and the largest wait between two
// registration attempts (defaults 200ms and 10s).
func WithRegisterBackoff(first, max time.Duration) LifecycleOption {
	return func(lc *Lifecycle) { lc.backoff, lc.maxWait = first, max }
}

// NewLifecycle returns the Lifecycle of the instance ep of service on r.
func NewLifecycle(r Registrar, service string, ep Endpoint, opts ...LifecycleOption) (*Lifecycle, error) {
	if r == nil {
		return nil, errors.New("discovery: NewLifecycle needs a Registrar: pass the etcd or consul registry the config names")
	}
	if service == "" {
		return nil, errors.New("discovery: NewLifecycle needs the service name the instance registers under")
	}
	if err := ep.Validate(); err != nil {
		return nil, fmt.Errorf("discovery: the instance's endpoint: %w", err)
	}
	lc := &Lifecycle{registrar: r, service: service, endpoint: ep, logger: slog.Default(), backoff: 200 * time.Millisecond, maxWait: 10 * time.Second,
		lastErr: fmt.Errorf("%w: registration has not started", ErrNotRegistered)}
	for _, o := range opts {
		o(lc)
	}
	if lc.backoff <= 0 || lc.maxWait < lc.backoff {
		return nil, fmt.Errorf("discovery: WithRegisterBackoff(%v, %v): the first wait must be positive and at most the largest", lc.backoff, lc.maxWait)
	}
	return lc, nil
}

// Start begins registering in the background and returns at once.
func (lc *Lifecycle) Start() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.started {
		return
	}
	lc.started = true
	ctx, cancel := context.WithCancel(context.Background())
	lc.cancel, lc.done = cancel, make(chan struct{})
	go lc.run(ctx)
}

func (lc *Lifecycle) run(ctx context.Context) {
	defer close(lc.done)
	wait := lc.backoff
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, max(lc.maxWait, 5*time.Second))
		reg, err := lc.registrar.Register(rctx, lc.service, lc.endpoint)
		cancel()
		if err != nil {
			lc.set(nil, fmt.Errorf("%w: the registry is unreachable (%v); retrying every %v at most", ErrNotRegistered, err, lc.maxWait))
			lc.logger.Warn("discovery: registration failed, the service serves and retries", "service", lc.service, "addr", lc.endpoint.Addr, "err", err, "retry_in", wait)
			if !sleep(ctx, wait) {
				return
			}
			wait = min(2*wait, lc.maxWait)
			continue
		}
		wait = lc.backoff
		lc.set(reg, nil)
		lc.logger.Info("discovery: registered", "service", lc.service, "addr", lc.endpoint.Addr, "region", lc.endpoint.Region)
		select {
		case <-ctx.Done():
			return
		case <-reg.Lost():
			lc.set(nil, fmt.Errorf("%w: the registration was lost; registering again", ErrNotRegistered))
			lc.logger.Warn("discovery: registration lost, registering again", "service", lc.service, "addr", lc.endpoint.Addr)
		}
	}
}

func (lc *Lifecycle) set(reg Registration, err error) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.current, lc.lastErr = reg, err
}

// Ready returns nil while the instance is registered, else an error saying
// why not (wrapping ErrNotRegistered); its shape is a health check's.
func (lc *Lifecycle) Ready(context.Context) error {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.lastErr
}

// Stop ends the retries and deregisters the instance, bounded by ctx.
func (lc *Lifecycle) Stop(ctx context.Context) error {
	lc.mu.Lock()
	started, cancel, done := lc.started, lc.cancel, lc.done
	lc.mu.Unlock()
	if !started {
		return nil
	}
	cancel()
	<-done
	lc.mu.Lock()
	reg := lc.current
	lc.current, lc.lastErr = nil, fmt.Errorf("%w: deregistered on shutdown", ErrNotRegistered)
	lc.mu.Unlock()
	if reg == nil {
		return nil
	}
	if err := reg.Deregister(ctx); err != nil {
		return fmt.Errorf("discovery: deregistering %s %s: %w", lc.service, lc.endpoint.Addr, err)
	}
	lc.logger.Info("discovery: deregistered", "service", lc.service, "addr", lc.endpoint.Addr)
	return nil
}

// sleep waits d or until ctx ends, reporting whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
