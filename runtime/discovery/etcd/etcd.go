package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/govkit/govern/runtime/discovery"
)

// DefaultPrefix is the key prefix services are registered under.
const DefaultPrefix = "/govern/services"

// DefaultTTL is the lease TTL of a registration.
const DefaultTTL = 10 * time.Second

type config struct {
	prefix     string
	ttl        time.Duration
	registerer prometheus.Registerer
	logger     *slog.Logger
}

// Option configures a Registry.
type Option func(*config)

// WithPrefix sets the key prefix (default DefaultPrefix).
func WithPrefix(prefix string) Option { return func(c *config) { c.prefix = prefix } }

// WithTTL sets the lease TTL of registrations (default DefaultTTL, whole
// seconds, at least 2 s). A lapse is noticed within one TTL.
func WithTTL(ttl time.Duration) Option { return func(c *config) { c.ttl = ttl } }

// WithRegisterer registers govern_registration_lease_lost_total on reg.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(c *config) { c.registerer = reg }
}

// WithLogger sets the logger of lease losses and re-registrations.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Registry is a discovery.Registry and discovery.Registrar on etcd.
type Registry struct {
	client    *clientv3.Client
	cfg       config
	leaseLost *prometheus.CounterVec
}

var (
	_ discovery.Registry  = (*Registry)(nil)
	_ discovery.Registrar = (*Registry)(nil)
)

// NewRegistry returns a Registry on client, which the caller owns and
// closes. Create the client with clientv3.WithRequireLeader contexts in
// mind: the Registry adds it to its watches itself.
func NewRegistry(client *clientv3.Client, opts ...Option) (*Registry, error) {
	if client == nil {
		return nil, errors.New("etcd: NewRegistry needs a client: create one with clientv3.New(clientv3.Config{Endpoints: ...})")
	}
	cfg := config{prefix: DefaultPrefix, ttl: DefaultTTL, logger: slog.Default()}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.ttl < 2*time.Second || cfg.ttl%time.Second != 0 {
		return nil, fmt.Errorf("etcd: WithTTL(%v): etcd leases count whole seconds; use 2s or more", cfg.ttl)
	}
	cfg.prefix = strings.TrimSuffix(cfg.prefix, "/")
	if !strings.HasPrefix(cfg.prefix, "/") {
		return nil, fmt.Errorf("etcd: WithPrefix(%q): the prefix must start with /", cfg.prefix)
	}
	lost := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "govern_registration_lease_lost_total",
		Help: "Times a registration's etcd lease lapsed (or its key vanished) and the instance registered again.",
	}, []string{"service"})
	if cfg.registerer != nil {
		if err := cfg.registerer.Register(lost); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("etcd: registering metrics: %w", err)
			}
			lost = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return &Registry{client: client, cfg: cfg, leaseLost: lost}, nil
}

func (r *Registry) servicePrefix(service string) string {
	return r.cfg.prefix + "/" + service + "/"
}

// Key returns the key an instance of service at addr is registered under.
func (r *Registry) Key(service, addr string) string { return r.servicePrefix(service) + addr }

type record struct {
	Addr       string            `json:"addr"`
	Region     string            `json:"region,omitempty"`
	Colour     string            `json:"colour,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

func encode(ep discovery.Endpoint) string {
	b, _ := json.Marshal(record(ep)) // a struct of strings always marshals
	return string(b)
}

func decode(v []byte) (discovery.Endpoint, error) {
	var rec record
	if err := json.Unmarshal(v, &rec); err != nil {
		return discovery.Endpoint{}, err
	}
	ep := discovery.Endpoint(rec)
	return ep, ep.Validate()
}

// Watch implements discovery.Registry.
func (r *Registry) Watch(ctx context.Context, service string) (discovery.Watcher, error) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(context.WithoutCancel(ctx)))
	return &watcher{r: r, prefix: r.servicePrefix(service), ctx: wctx, cancel: cancel, set: map[string]discovery.Endpoint{}}, nil
}

type watcher struct {
	r      *Registry
	prefix string
	ctx    context.Context
	cancel context.CancelFunc
	wch    clientv3.WatchChan
	set    map[string]discovery.Endpoint
}

func (w *watcher) Next(ctx context.Context) ([]discovery.Endpoint, error) {
	if w.wch == nil {
		resp, err := w.r.client.Get(ctx, w.prefix, clientv3.WithPrefix())
		if err != nil {
			return nil, fmt.Errorf("etcd: reading %s: %w", w.prefix, err)
		}
		for _, kv := range resp.Kvs {
			w.apply(kv.Key, kv.Value, false)
		}
		w.wch = w.r.client.Watch(w.ctx, w.prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
		return w.endpoints(), nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case resp, ok := <-w.wch:
			if !ok {
				return nil, errors.New("etcd: the watch ended")
			}
			if err := resp.Err(); err != nil {
				return nil, fmt.Errorf("etcd: watching %s: %w", w.prefix, err)
			}
			changed := false
			for _, ev := range resp.Events {
				changed = w.apply(ev.Kv.Key, ev.Kv.Value, ev.Type == clientv3.EventTypeDelete) || changed
			}
			if changed {
				return w.endpoints(), nil
			}
		}
	}
}

// apply records one key's value or deletion and reports whether the set
// changed. A value that does not decode is dropped (and logged): one bad
// key must not hide the service's other instances.
func (w *watcher) apply(key, value []byte, deleted bool) bool {
	k := string(key)
	old, had := w.set[k]
	if deleted {
		delete(w.set, k)
		return had
	}
	ep, err := decode(value)
	if err != nil {
		w.r.cfg.logger.Warn("etcd: ignoring a registry entry that is not a valid endpoint", "key", k, "err", err)
		delete(w.set, k)
		return had
	}
	w.set[k] = ep
	return !had || !old.Equal(ep)
}

func (w *watcher) endpoints() []discovery.Endpoint {
	keys := slices.Sorted(maps.Keys(w.set))
	eps := make([]discovery.Endpoint, 0, len(keys))
	for _, k := range keys {
		eps = append(eps, w.set[k])
	}
	return eps
}

func (w *watcher) Close() error {
	w.cancel()
	return nil
}

// Register implements discovery.Registrar: it grants a lease, writes the
// instance's key under it and keeps both alive until Deregister.
func (r *Registry) Register(ctx context.Context, service string, ep discovery.Endpoint) (discovery.Registration, error) {
	if err := ep.Validate(); err != nil {
		return nil, fmt.Errorf("etcd: registering %s: %w", service, err)
	}
	reg := &registration{
		r:       r,
		service: service,
		key:     r.Key(service, ep.Addr),
		value:   encode(ep),
		lost:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	ka, err := reg.grant(ctx)
	if err != nil {
		return nil, err
	}
	mctx, cancel := context.WithCancel(context.Background())
	reg.cancel = cancel
	go reg.maintain(mctx, ka)
	return reg, nil
}

type registration struct {
	r          *Registry
	service    string
	key, value string
	cancel     context.CancelFunc
	lost, done chan struct{}

	mu    sync.Mutex
	lease clientv3.LeaseID
	// kaCancel ends the keep-alive of the current lease.
	kaCancel context.CancelFunc
}

// grant takes a new lease, writes the key under it and starts its
// keep-alive, returning the keep-alive channel.
func (g *registration) grant(ctx context.Context) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	ttl := int64(g.r.cfg.ttl / time.Second)
	lease, err := g.r.client.Grant(ctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("etcd: granting a %ds lease for %s: %w (is etcd reachable at the configured endpoints?)", ttl, g.key, err)
	}
	if _, err := g.r.client.Put(ctx, g.key, g.value, clientv3.WithLease(lease.ID)); err != nil {
		_, _ = g.r.client.Revoke(context.WithoutCancel(ctx), lease.ID)
		return nil, fmt.Errorf("etcd: writing %s: %w", g.key, err)
	}
	kactx, kaCancel := context.WithCancel(context.Background())
	ka, err := g.r.client.KeepAlive(kactx, lease.ID)
	if err != nil {
		kaCancel()
		return nil, fmt.Errorf("etcd: keeping lease %x alive: %w", lease.ID, err)
	}
	g.mu.Lock()
	if g.kaCancel != nil {
		g.kaCancel()
	}
	g.lease, g.kaCancel = lease.ID, kaCancel
	g.mu.Unlock()
	return ka, nil
}

// maintain drains the keep-alive channel, re-registers when it closes (the
// lease lapsed) or when the watchdog finds the key missing or changed, and
// retries with a backoff capped at TTL/4 while etcd cannot be reached.
func (g *registration) maintain(ctx context.Context, ka <-chan *clientv3.LeaseKeepAliveResponse) {
	defer close(g.done)
	watchdog := time.NewTicker(g.r.cfg.ttl / 3)
	defer watchdog.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ka:
			if ok {
				continue
			}
			ka = g.reRegister(ctx, "the lease's keep-alive ended")
		case <-watchdog.C:
			if reason := g.check(ctx); reason != "" {
				ka = g.reRegister(ctx, reason)
			}
		}
	}
}

// check compares the registry with what should be there and returns why
// it differs, or "" when it does not (or cannot be read: the keep-alive
// decides then).
func (g *registration) check(ctx context.Context) string {
	cctx, cancel := context.WithTimeout(ctx, g.r.cfg.ttl/3)
	defer cancel()
	resp, err := g.r.client.Get(cctx, g.key)
	if err != nil {
		return ""
	}
	g.mu.Lock()
	lease := g.lease
	g.mu.Unlock()
	switch {
	case len(resp.Kvs) == 0:
		return "the key is missing from the registry"
	case string(resp.Kvs[0].Value) != g.value:
		return "the key holds another value"
	case clientv3.LeaseID(resp.Kvs[0].Lease) != lease:
		return "the key is not under the registration's lease"
	}
	return ""
}

// reRegister counts the loss and registers again until it succeeds or the
// registration ends; it returns the new keep-alive channel (nil, which
// blocks forever, when ctx ended).
func (g *registration) reRegister(ctx context.Context, reason string) <-chan *clientv3.LeaseKeepAliveResponse {
	g.r.leaseLost.WithLabelValues(g.service).Inc()
	g.r.cfg.logger.Warn("etcd: registration lost, registering again", "key", g.key, "reason", reason)
	backoff := 50 * time.Millisecond
	for {
		gctx, cancel := context.WithTimeout(ctx, g.r.cfg.ttl/2)
		ka, err := g.grant(gctx)
		cancel()
		if err == nil {
			g.r.cfg.logger.Info("etcd: registered again", "key", g.key)
			return ka
		}
		g.r.cfg.logger.Warn("etcd: registering again failed, retrying", "key", g.key, "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, g.r.cfg.ttl/4)
	}
}

// Lost is never closed: the registration heals itself.
func (g *registration) Lost() <-chan struct{} { return g.lost }

// Deregister stops the keep-alive, revokes the lease (deleting the key at
// once rather than after a TTL) and waits for the maintenance goroutine.
func (g *registration) Deregister(ctx context.Context) error {
	g.cancel()
	<-g.done
	g.mu.Lock()
	lease, kaCancel := g.lease, g.kaCancel
	g.mu.Unlock()
	if kaCancel != nil {
		kaCancel()
	}
	if _, err := g.r.client.Revoke(ctx, lease); err != nil {
		// The lease lapses by itself within one TTL; deleting the key
		// is still worth a try.
		if _, derr := g.r.client.Delete(ctx, g.key); derr != nil {
			return fmt.Errorf("etcd: deregistering %s: %w", g.key, errors.Join(err, derr))
		}
	}
	return nil
}
