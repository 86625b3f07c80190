package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/resolver"
)

// Builder is the gRPC resolver.Builder of the govern scheme over one
// Registry. Pass it to grpc.NewClient with grpc.WithResolvers (DialOptions
// does), so that nothing is registered globally for the resolver.
type Builder struct {
	registry Registry
	cfg      config
	metrics  *Metrics
}

// NewBuilder returns a Builder resolving govern:///<service> targets from
// registry. It registers the region-aware balancer with grpc-go (balancers
// have no per-connection registration in grpc-go; doing it here, not in an
// init function, keeps importing the package free of side effects).
func NewBuilder(registry Registry, opts ...Option) (*Builder, error) {
	if registry == nil {
		return nil, errors.New("discovery: NewBuilder needs a Registry: pass an etcd, consul or dns registry, or a MemoryRegistry")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.region != "" && !ValidLabel(cfg.region) {
		return nil, fmt.Errorf("discovery: WithLocalRegion(%q): not a valid region label; use lower-case letters, digits and dashes, such as us-west-2", cfg.region)
	}
	if !ValidLabel(cfg.defaultColour) {
		return nil, fmt.Errorf("discovery: WithDefaultColour(%q): not a valid colour label; use lower-case letters, digits and dashes, such as stable", cfg.defaultColour)
	}
	if cfg.minLocalFraction < 0 || cfg.minLocalFraction > 1 {
		return nil, fmt.Errorf("discovery: WithMinLocalFraction(%v): the fraction must be in [0, 1]", cfg.minLocalFraction)
	}
	if cfg.probing && (cfg.probe.interval <= 0 || cfg.probe.timeout <= 0 || cfg.probe.timeout > cfg.probe.interval) {
		return nil, fmt.Errorf("discovery: WithProbe(%v, %v): both must be positive and the timeout at most the interval", cfg.probe.interval, cfg.probe.timeout)
	}
	if cfg.probe.threshold < 1 {
		return nil, fmt.Errorf("discovery: WithProbeThreshold(%d): at least one failed probe is needed to call an endpoint unhealthy", cfg.probe.threshold)
	}
	if cfg.retryBackoff <= 0 || cfg.maxRetryBackoff < cfg.retryBackoff {
		return nil, fmt.Errorf("discovery: WithRetryBackoff(%v, %v): the first wait must be positive and at most the largest", cfg.retryBackoff, cfg.maxRetryBackoff)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	m, err := newMetrics(cfg.registerer)
	if err != nil {
		return nil, fmt.Errorf("discovery: registering metrics: %w", err)
	}
	registerBalancer()
	return &Builder{registry: registry, cfg: cfg, metrics: m}, nil
}

// Scheme returns "govern".
func (b *Builder) Scheme() string { return Scheme }

// DialOptions returns what a ClientConn needs to resolve govern:/// targets
// with b and balance them by region and colour: the resolver and a default
// service config selecting the balancer. A client governed by
// runtime/governance gets both from governance.WithDiscovery instead
// (client.WithResolution underneath), merged into the service config of
// its policy table, whose timeouts and retries a second default service
// config would otherwise replace.
func (b *Builder) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithResolvers(b),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":` + LoadBalancingConfig + `}`),
	}
}

// Resolver returns b; with LoadBalancingConfig it makes b a
// runtime/client Resolution, merged by client.WithResolution (and
// governance.WithDiscovery) into the service config of a policy table.
func (b *Builder) Resolver() resolver.Builder { return b }

// LoadBalancingConfig returns the loadBalancingConfig selecting the
// region- and colour-aware balancer.
func (b *Builder) LoadBalancingConfig() json.RawMessage { return json.RawMessage(LoadBalancingConfig) }

// ParseTarget returns the service name of a govern:/// target, rejecting
// what the resolver would not understand.
func ParseTarget(u url.URL) (string, error) {
	if u.Host != "" {
		return "", fmt.Errorf("discovery: target %q names an authority (%q); write govern:///%s, the registry is configured on the Builder", u.String(), u.Host, strings.TrimPrefix(u.Path, "/"))
	}
	if len(u.Query()) > 0 {
		for k := range u.Query() {
			return "", fmt.Errorf("discovery: target %q has the unknown parameter %q; govern:/// targets take no parameters, set region and colour preferences with Builder options or WithRoute", u.String(), k)
		}
	}
	service := strings.TrimPrefix(u.Path, "/")
	if service == "" || strings.Contains(service, "/") {
		return "", fmt.Errorf("discovery: target %q does not name one service; write govern:///<service>, such as govern:///inventory", u.String())
	}
	return service, nil
}

// Build starts resolving target.
func (b *Builder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	service, err := ParseTarget(target.URL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &govResolver{
		b:       b,
		service: service,
		cc:      cc,
		ctx:     ctx,
		cancel:  cancel,
		events:  make(chan event),
		health:  map[string]string{},
		probers: map[string]*prober{},
		logger:  b.cfg.logger.With("service", service),
	}
	r.wg.Add(2)
	go r.watch()
	go r.run()
	return r, nil
}

// event is what the resolver's loop reacts to: a registry answer or a probe
// verdict.
type event struct {
	endpoints []Endpoint
	err       error
	probe     *probeEvent
}

type probeEvent struct {
	addr    string
	healthy bool
}

type govResolver struct {
	b       *Builder
	service string
	cc      resolver.ClientConn
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	events  chan event
	logger  *slog.Logger

	// Owned by run.
	endpoints []Endpoint
	known     bool
	stale     bool
	health    map[string]string
	probers   map[string]*prober
}

// ResolveNow is a no-op: every backend pushes changes (watch, blocking
// query) or re-resolves on its own schedule (DNS TTL).
func (r *govResolver) ResolveNow(resolver.ResolveNowOptions) {}

// Close stops the watch and every probe and waits for them.
func (r *govResolver) Close() {
	r.cancel()
	r.wg.Wait()
	ps := make([]*prober, 0, len(r.probers))
	for _, p := range r.probers {
		ps = append(ps, p)
	}
	stopAll(ps)
	r.b.metrics.endpoints.DeletePartialMatch(prometheus.Labels{"service": r.service})
	r.b.metrics.stale.DeleteLabelValues(r.service)
}

func (r *govResolver) send(ev event) bool {
	select {
	case r.events <- ev:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// watch follows the registry, reporting each answer and each error to run.
// A failed watch is closed and started again after a backoff, so that its
// first answer after an outage is the registry's current set.
func (r *govResolver) watch() {
	defer r.wg.Done()
	backoff := r.b.cfg.retryBackoff
	wait := func() bool {
		t := time.NewTimer(backoff)
		defer t.Stop()
		backoff = min(2*backoff, r.b.cfg.maxRetryBackoff)
		select {
		case <-r.ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	var w Watcher
	defer func() {
		if w != nil {
			_ = w.Close()
		}
	}()
	for r.ctx.Err() == nil {
		if w == nil {
			var err error
			if w, err = r.b.registry.Watch(r.ctx, r.service); err != nil {
				w = nil
				if !r.send(event{err: fmt.Errorf("discovery: watching %s: %w", r.service, err)}) || !wait() {
					return
				}
				continue
			}
		}
		eps, err := w.Next(r.ctx)
		if r.ctx.Err() != nil {
			return
		}
		if err != nil {
			_ = w.Close()
			w = nil
			if !r.send(event{err: fmt.Errorf("discovery: reading %s: %w", r.service, err)}) || !wait() {
				return
			}
			continue
		}
		backoff = r.b.cfg.retryBackoff
		if !r.send(event{endpoints: eps}) {
			return
		}
	}
}

// run owns the resolver's state: it applies registry answers and probe
// verdicts and pushes the result to the ClientConn.
func (r *govResolver) run() {
	defer r.wg.Done()
	for {
		select {
		case <-r.ctx.Done():
			return
		case ev := <-r.events:
			switch {
			case ev.probe != nil:
				if _, ok := r.probers[ev.probe.addr]; !ok {
					continue // a verdict on an endpoint already removed
				}
				state := stateUnhealthy
				if ev.probe.healthy {
					state = stateHealthy
				}
				if r.health[ev.probe.addr] == state {
					continue
				}
				r.health[ev.probe.addr] = state
				r.logger.Info("discovery: endpoint health changed", "addr", ev.probe.addr, "state", state)
			case ev.err != nil:
				r.registryFailed(ev.err)
				continue
			default:
				r.setEndpoints(ev.endpoints)
			}
			r.push()
		}
	}
}

// registryFailed keeps the last known endpoints and says so. Before the
// first answer there is nothing to keep, and the ClientConn is told.
func (r *govResolver) registryFailed(err error) {
	r.b.metrics.registryErrors.WithLabelValues(r.service).Inc()
	if !r.known {
		r.logger.Warn("discovery: registry unavailable and no endpoints known yet", "err", err)
		r.cc.ReportError(err)
		return
	}
	if !r.stale {
		r.stale = true
		r.b.metrics.stale.WithLabelValues(r.service).Set(1)
		r.logger.Warn("discovery: registry unavailable, keeping the last known endpoints", "err", err, "endpoints", len(r.endpoints))
	}
}

func (r *govResolver) setEndpoints(eps []Endpoint) {
	if r.stale {
		r.stale = false
		r.b.metrics.stale.WithLabelValues(r.service).Set(0)
		r.logger.Info("discovery: registry answers again", "endpoints", len(eps))
	}
	valid := eps[:0:0]
	seen := map[string]bool{}
	for _, ep := range eps {
		if err := ep.Validate(); err != nil {
			r.logger.Warn("discovery: ignoring an endpoint the registry lists", "err", err)
			continue
		}
		if seen[ep.Addr] {
			continue
		}
		seen[ep.Addr] = true
		valid = append(valid, ep)
	}
	r.known = true
	r.endpoints = valid
	var stopped []*prober
	for addr, p := range r.probers {
		if !seen[addr] {
			stopped = append(stopped, p)
			delete(r.probers, addr)
		}
	}
	for addr := range r.health {
		if !seen[addr] {
			delete(r.health, addr)
		}
	}
	for _, ep := range valid {
		if _, ok := r.health[ep.Addr]; ok {
			continue
		}
		r.health[ep.Addr] = stateUnknown
		if r.b.cfg.probing {
			addr := ep.Addr
			r.probers[addr] = startProber(addr, r.b.cfg.probe, func(ctx context.Context, healthy bool) {
				select {
				case r.events <- event{probe: &probeEvent{addr: addr, healthy: healthy}}:
				case <-ctx.Done():
				case <-r.ctx.Done():
				}
			})
		}
	}
	// A stopped prober may be blocked reporting to this goroutine; its
	// context ends first, so stopping never waits on run.
	stopAll(stopped)
}

// push sends the usable endpoints to the ClientConn: every endpoint not
// known to be unhealthy, or all of them when every one is unhealthy (a
// probe outage must not empty the client; the connections then decide).
func (r *govResolver) push() {
	usable := make([]resolver.Address, 0, len(r.endpoints))
	totals := map[groupKey]int{}
	counts := map[[3]string]int{}
	for _, ep := range r.endpoints {
		state := r.health[ep.Addr]
		counts[[3]string{ep.Region, ep.colour(), state}]++
		totals[groupKey{colour: ep.colour(), region: ep.Region}]++
		if state != stateUnhealthy {
			usable = append(usable, Address(ep))
		}
	}
	if len(usable) == 0 && len(r.endpoints) > 0 {
		r.logger.Warn("discovery: every endpoint fails its health probe; using them all", "endpoints", len(r.endpoints))
		for _, ep := range r.endpoints {
			usable = append(usable, Address(ep))
		}
	}
	m := r.b.metrics
	m.endpoints.DeletePartialMatch(prometheus.Labels{"service": r.service})
	for k, n := range counts {
		m.endpoints.WithLabelValues(r.service, k[0], k[1], k[2]).Set(float64(n))
	}
	m.updates.WithLabelValues(r.service).Inc()
	st := &pickState{
		service:          r.service,
		localRegion:      r.b.cfg.region,
		defaultColour:    r.b.cfg.defaultColour,
		minLocalFraction: r.b.cfg.minLocalFraction,
		totals:           totals,
		metrics:          m,
		logger:           r.logger,
	}
	err := r.cc.UpdateState(resolver.State{
		Addresses:  usable,
		Attributes: attributes.New(pickStateKey{}, st),
	})
	if err != nil && len(usable) > 0 {
		r.logger.Debug("discovery: the balancer rejected the update", "err", err)
	}
}
