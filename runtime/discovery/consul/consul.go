package consul

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govkit/govern/runtime/discovery"
)

// Meta keys this package reads and writes.
const (
	MetaRegion       = "region"
	MetaColour       = "colour"
	MetaRegisteredAt = "govern_registered_at"
)

// DefaultTTL is the TTL of the check Register attaches.
const DefaultTTL = 10 * time.Second

type config struct {
	dc         string
	ttl        time.Duration
	grpcCheck  bool
	interval   time.Duration
	deregAfter time.Duration
	waitTime   time.Duration
	registerer prometheus.Registerer
	logger     *slog.Logger
}

// Option configures a Registry.
type Option func(*config)

// WithDatacenter sets the datacenter of every query and registration
// (default: the agent's own).
func WithDatacenter(dc string) Option { return func(c *config) { c.dc = dc } }

// WithTTLCheck attaches a TTL check that Register passes every ttl/3
// (the default, with DefaultTTL).
func WithTTLCheck(ttl time.Duration) Option {
	return func(c *config) { c.ttl, c.grpcCheck = ttl, false }
}

// WithGRPCCheck makes the agent probe the instance's grpc.health.v1 every
// interval instead of a TTL check.
func WithGRPCCheck(interval time.Duration) Option {
	return func(c *config) { c.grpcCheck, c.interval = true, interval }
}

// WithDeregisterCriticalAfter makes the agent remove an instance whose
// check stayed critical this long (default 1m).
func WithDeregisterCriticalAfter(d time.Duration) Option {
	return func(c *config) { c.deregAfter = d }
}

// WithWaitTime sets the longest a blocking query waits for a change
// (default 5m, Consul's maximum is 10m).
func WithWaitTime(d time.Duration) Option { return func(c *config) { c.waitTime = d } }

// WithRegisterer registers govern_discovery_consul_propagation_seconds on reg.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(c *config) { c.registerer = reg }
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Registry is a discovery.Registry and discovery.Registrar on Consul.
type Registry struct {
	client *api.Client
	cfg    config
	lag    *prometheus.HistogramVec
}

var (
	_ discovery.Registry  = (*Registry)(nil)
	_ discovery.Registrar = (*Registry)(nil)
)

// NewRegistry returns a Registry on client (api.NewClient(api.DefaultConfig())
// reads CONSUL_HTTP_ADDR and friends).
func NewRegistry(client *api.Client, opts ...Option) (*Registry, error) {
	if client == nil {
		return nil, errors.New("consul: NewRegistry needs a client: create one with api.NewClient(api.DefaultConfig()) and set CONSUL_HTTP_ADDR")
	}
	cfg := config{ttl: DefaultTTL, interval: 5 * time.Second, deregAfter: time.Minute, waitTime: 5 * time.Minute, logger: slog.Default()}
	for _, o := range opts {
		o(&cfg)
	}
	if !cfg.grpcCheck && cfg.ttl < time.Second {
		return nil, fmt.Errorf("consul: WithTTLCheck(%v): use a TTL of 1s or more", cfg.ttl)
	}
	if cfg.grpcCheck && cfg.interval <= 0 {
		return nil, fmt.Errorf("consul: WithGRPCCheck(%v): the interval must be positive", cfg.interval)
	}
	if cfg.waitTime <= 0 || cfg.waitTime > 10*time.Minute {
		return nil, fmt.Errorf("consul: WithWaitTime(%v): use a wait in (0, 10m], Consul's range", cfg.waitTime)
	}
	lag := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "govern_discovery_consul_propagation_seconds",
		Help:    "Time from an instance's registration to the first answer of a resolver's datacenter query that lists it.",
		Buckets: []float64{.01, .025, .05, .1, .2, .35, .5, 1, 2, 5, 10},
	}, []string{"dc"})
	if cfg.registerer != nil {
		if err := cfg.registerer.Register(lag); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("consul: registering metrics: %w", err)
			}
			lag = are.ExistingCollector.(*prometheus.HistogramVec)
		}
	}
	return &Registry{client: client, cfg: cfg, lag: lag}, nil
}

// ServiceID returns the Consul service ID of the instance at addr.
func ServiceID(service, addr string) string { return service + "-" + addr }

// Register implements discovery.Registrar.
func (r *Registry) Register(ctx context.Context, service string, ep discovery.Endpoint) (discovery.Registration, error) {
	if err := ep.Validate(); err != nil {
		return nil, fmt.Errorf("consul: registering %s: %w", service, err)
	}
	host, portStr, _ := net.SplitHostPort(ep.Addr)
	port, _ := strconv.Atoi(portStr)
	meta := map[string]string{}
	for k, v := range ep.Attributes {
		meta[k] = v
	}
	if ep.Region != "" {
		meta[MetaRegion] = ep.Region
	}
	if ep.Colour != "" {
		meta[MetaColour] = ep.Colour
	}
	meta[MetaRegisteredAt] = time.Now().UTC().Format(time.RFC3339Nano)
	id := ServiceID(service, ep.Addr)
	check := &api.AgentServiceCheck{
		CheckID:                        "service:" + id,
		DeregisterCriticalServiceAfter: r.cfg.deregAfter.String(),
	}
	if r.cfg.grpcCheck {
		check.GRPC, check.Interval, check.Timeout = ep.Addr, r.cfg.interval.String(), (r.cfg.interval * 8 / 10).String()
	} else {
		check.TTL, check.Status = r.cfg.ttl.String(), api.HealthPassing
	}
	g := &registration{r: r, id: id, checkID: check.CheckID, reg: &api.AgentServiceRegistration{
		ID: id, Name: service, Address: host, Port: port, Meta: meta, Check: check,
	}, lost: make(chan struct{}), done: make(chan struct{})}
	if err := g.register(ctx); err != nil {
		return nil, err
	}
	mctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	go g.maintain(mctx)
	return g, nil
}

type registration struct {
	r           *Registry
	id, checkID string
	reg         *api.AgentServiceRegistration
	cancel      context.CancelFunc
	lost, done  chan struct{}
	once        sync.Once
}

func (g *registration) register(ctx context.Context) error {
	opts := api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx)
	if err := g.r.client.Agent().ServiceRegisterOpts(g.reg, opts); err != nil {
		return fmt.Errorf("consul: registering %s with the agent: %w (is the agent reachable at CONSUL_HTTP_ADDR?)", g.id, err)
	}
	return nil
}

// maintain passes the TTL check every TTL/3; when the agent no longer
// knows the check (it restarted, or an operator deregistered the instance)
// it registers again.
func (g *registration) maintain(ctx context.Context) {
	defer close(g.done)
	if g.r.cfg.grpcCheck {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(g.r.cfg.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := g.r.client.Agent().UpdateTTLOpts(g.checkID, "", api.HealthPassing, (&api.QueryOptions{}).WithContext(ctx))
		if err == nil || ctx.Err() != nil {
			continue
		}
		var se api.StatusError
		if errors.As(err, &se) && se.Code == 404 || strings.Contains(err.Error(), "does not have associated TTL") || strings.Contains(err.Error(), "Unknown check") {
			g.r.cfg.logger.Warn("consul: the agent forgot the instance, registering again", "id", g.id, "err", err)
			if rerr := g.register(ctx); rerr != nil {
				g.r.cfg.logger.Warn("consul: registering again failed, retrying", "id", g.id, "err", rerr)
			}
			continue
		}
		g.r.cfg.logger.Warn("consul: passing the TTL check failed", "id", g.id, "err", err)
	}
}

// Lost is never closed: the registration heals itself.
func (g *registration) Lost() <-chan struct{} { return g.lost }

// Deregister stops the TTL updates and removes the instance from the agent.
func (g *registration) Deregister(ctx context.Context) error {
	g.cancel()
	<-g.done
	if err := g.r.client.Agent().ServiceDeregisterOpts(g.id, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
		return fmt.Errorf("consul: deregistering %s: %w", g.id, err)
	}
	return nil
}

// Watch implements discovery.Registry with blocking queries.
func (r *Registry) Watch(_ context.Context, service string) (discovery.Watcher, error) {
	return &watcher{r: r, service: service, seen: map[string]bool{}}, nil
}

type watcher struct {
	r       *Registry
	service string
	index   uint64
	last    []discovery.Endpoint
	started bool
	seen    map[string]bool // service IDs whose propagation lag was observed
}

func (w *watcher) Next(ctx context.Context) ([]discovery.Endpoint, error) {
	for {
		q := (&api.QueryOptions{Datacenter: w.r.cfg.dc, WaitIndex: w.index, WaitTime: w.r.cfg.waitTime}).WithContext(ctx)
		entries, meta, err := w.r.client.Health().Service(w.service, "", true, q)
		if err != nil {
			return nil, fmt.Errorf("consul: querying the healthy instances of %s: %w", w.service, err)
		}
		// Consul's rules for the blocking index: it must grow; when it
		// goes backwards (a snapshot restore) start again from 0.
		switch {
		case meta.LastIndex < w.index:
			w.index = 0
		case meta.LastIndex == 0:
			w.index = 1
		default:
			w.index = meta.LastIndex
		}
		eps := w.endpoints(entries)
		if !w.started || !discovery.SameEndpoints(eps, w.last) {
			w.started, w.last = true, eps
			return eps, nil
		}
	}
}

func (w *watcher) endpoints(entries []*api.ServiceEntry) []discovery.Endpoint {
	now := time.Now()
	present := make(map[string]bool, len(entries))
	eps := make([]discovery.Endpoint, 0, len(entries))
	for _, e := range entries {
		if e.Service == nil {
			continue
		}
		addr := e.Service.Address
		if addr == "" && e.Node != nil {
			addr = e.Node.Address
		}
		ep := discovery.Endpoint{Addr: net.JoinHostPort(addr, strconv.Itoa(e.Service.Port)), Attributes: map[string]string{}}
		for k, v := range e.Service.Meta {
			switch k {
			case MetaRegion:
				ep.Region = v
			case MetaColour:
				ep.Colour = v
			case MetaRegisteredAt:
				if !w.seen[e.Service.ID] && !present[e.Service.ID] {
					if at, err := time.Parse(time.RFC3339Nano, v); err == nil {
						w.r.lag.WithLabelValues(w.dcLabel()).Observe(max(now.Sub(at), 0).Seconds())
					}
				}
			default:
				ep.Attributes[k] = v
			}
		}
		present[e.Service.ID] = true
		if ep.Region == "" && e.Node != nil {
			ep.Region = strings.ToLower(e.Node.Datacenter)
		}
		eps = append(eps, ep)
	}
	w.seen = present
	return eps
}

func (w *watcher) dcLabel() string {
	if w.r.cfg.dc == "" {
		return "local"
	}
	return w.r.cfg.dc
}

func (w *watcher) Close() error { return nil }
