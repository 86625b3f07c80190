package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govkit/govern/runtime/discovery"
)

// Defaults of the re-resolution schedule.
const (
	DefaultMinTTL   = time.Second
	DefaultMaxTTL   = 5 * time.Minute
	DefaultMaxStale = 5 * time.Minute
	DefaultTimeout  = 2 * time.Second
)

type config struct {
	domain         string
	minTTL, maxTTL time.Duration
	maxStale       time.Duration
	timeout        time.Duration
	region         string
	labeler        func(target string) (region, colour string)
	registerer     prometheus.Registerer
	logger         *slog.Logger
	now            func() time.Time
}

// Option configures a Registry.
type Option func(*config)

// WithDomain appends domain to every name: _grpc._tcp.<service>.<domain>.
func WithDomain(domain string) Option {
	return func(c *config) { c.domain = strings.Trim(domain, ".") }
}

// WithMinTTL sets the floor of the re-resolution interval (default
// DefaultMinTTL): an answer's TTL under it, TTL 0 included, counts as it.
func WithMinTTL(d time.Duration) Option { return func(c *config) { c.minTTL = d } }

// WithMaxTTL caps the re-resolution interval (default DefaultMaxTTL).
func WithMaxTTL(d time.Duration) Option { return func(c *config) { c.maxTTL = d } }

// WithMaxStale bounds how long NXDOMAIN or empty answers for a name that had
// records are disbelieved (default DefaultMaxStale).
func WithMaxStale(d time.Duration) Option { return func(c *config) { c.maxStale = d } }

// WithTimeout bounds one query, UDP and TCP retry each (default
// DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithRegion sets the region of every endpoint this Registry resolves.
func WithRegion(region string) Option { return func(c *config) { c.region = region } }

// WithLabeler derives each endpoint's region and colour from its SRV target
// name (such as i-1.canary.us-west-2.inventory.example.); an empty result
// keeps WithRegion's region and the default colour.
func WithLabeler(f func(target string) (region, colour string)) Option {
	return func(c *config) { c.labeler = f }
}

// WithRegisterer registers govern_discovery_dns_bogus_answers_total on reg.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(c *config) { c.registerer = reg }
}

// WithLogger sets the logger of rejected and disbelieved answers.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Registry resolves services through DNS SRV records. It is a
// discovery.Registry; DNS has no registration side.
type Registry struct {
	server string
	cfg    config
	bogus  *prometheus.CounterVec

	mu sync.Mutex
	// good is the last good answer per name, kept across watches so that a
	// re-watch after an error still knows what the name had.
	good map[string]goodAnswer
}

type goodAnswer struct {
	endpoints []discovery.Endpoint
	// bogusSince is when answers started to be bogus; zero while good.
	bogusSince time.Time
}

var _ discovery.Registry = (*Registry)(nil)

// NewRegistry returns a Registry asking the DNS server at server
// (host:port, such as 10.0.0.2:53).
func NewRegistry(server string, opts ...Option) (*Registry, error) {
	if _, port, err := net.SplitHostPort(server); err != nil || port == "" {
		return nil, fmt.Errorf("dns: server %q is not host:port; write the resolver's address with its port, such as 127.0.0.1:53", server)
	}
	cfg := config{
		minTTL: DefaultMinTTL, maxTTL: DefaultMaxTTL, maxStale: DefaultMaxStale, timeout: DefaultTimeout,
		logger: slog.Default(), now: time.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.minTTL <= 0 || cfg.maxTTL < cfg.minTTL {
		return nil, fmt.Errorf("dns: WithMinTTL(%v)/WithMaxTTL(%v): the floor must be positive and at most the cap", cfg.minTTL, cfg.maxTTL)
	}
	if cfg.timeout <= 0 || cfg.maxStale < 0 {
		return nil, errors.New("dns: WithTimeout must be positive and WithMaxStale not negative")
	}
	if cfg.region != "" && !discovery.ValidLabel(cfg.region) {
		return nil, fmt.Errorf("dns: WithRegion(%q): not a valid region label; use lower-case letters, digits and dashes, such as us-west-2", cfg.region)
	}
	bogus := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "govern_discovery_dns_bogus_answers_total",
		Help: "DNS answers disbelieved (NXDOMAIN or empty for a name that had records) while the last good set was kept.",
	}, []string{"service", "kind"})
	if cfg.registerer != nil {
		if err := cfg.registerer.Register(bogus); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("dns: registering metrics: %w", err)
			}
			bogus = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return &Registry{server: server, cfg: cfg, bogus: bogus, good: map[string]goodAnswer{}}, nil
}

// Name returns the SRV name a service is looked up under.
func (r *Registry) Name(service string) string {
	name := "_grpc._tcp." + service
	if r.cfg.domain != "" {
		name += "." + r.cfg.domain
	}
	return mdns.Fqdn(name)
}

// Watch implements discovery.Registry.
func (r *Registry) Watch(_ context.Context, service string) (discovery.Watcher, error) {
	return &watcher{r: r, service: service, name: r.Name(service)}, nil
}

type watcher struct {
	r       *Registry
	service string
	name    string
	last    []discovery.Endpoint
	started bool
	next    time.Time // when to resolve again
}

// Next resolves when the previous answer's TTL (floored) has run out, and
// returns when the set differs from the one it last returned.
func (w *watcher) Next(ctx context.Context) ([]discovery.Endpoint, error) {
	for {
		if wait := w.next.Sub(w.r.cfg.now()); w.started && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
		eps, ttl, err := w.r.Resolve(ctx, w.service)
		w.next = w.r.cfg.now().Add(ttl)
		if err != nil {
			w.next = w.r.cfg.now() // the resolver backs off before the next watch
			return nil, err
		}
		if !w.started || !discovery.SameEndpoints(eps, w.last) {
			w.started, w.last = true, eps
			return eps, nil
		}
	}
}

func (w *watcher) Close() error { return nil }

// Resolve looks service up once and returns its endpoints and how long
// they may be trusted (the answer's TTL within the floor and the cap). A
// bogus empty answer returns the last good set while it is younger than
// WithMaxStale.
func (r *Registry) Resolve(ctx context.Context, service string) ([]discovery.Endpoint, time.Duration, error) {
	name := r.Name(service)
	ans, err := r.query(ctx, name, mdns.TypeSRV)
	if err != nil {
		return nil, r.cfg.minTTL, err
	}
	records, err := interpret(ans, name)
	if err != nil {
		return nil, r.cfg.minTTL, fmt.Errorf("dns: rejecting the answer for %s: %w", name, err)
	}
	ttl := r.clampTTL(records.ttl)
	if len(records.srv) == 0 {
		return r.empty(service, name, records.nxdomain), ttl, nil
	}
	eps, err := r.endpoints(ctx, records)
	if err != nil {
		return nil, r.cfg.minTTL, err
	}
	r.mu.Lock()
	r.good[name] = goodAnswer{endpoints: eps}
	r.mu.Unlock()
	return eps, ttl, nil
}

// empty decides what an answer without records means: the truth for a
// name that never had records or has been empty for longer than
// WithMaxStale, a bogus answer (counted, last good set returned) otherwise.
func (r *Registry) empty(service, name string, nxdomain bool) []discovery.Endpoint {
	kind := "empty"
	if nxdomain {
		kind = "nxdomain"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	g, ok := r.good[name]
	if !ok || len(g.endpoints) == 0 {
		return nil
	}
	now := r.cfg.now()
	if g.bogusSince.IsZero() {
		g.bogusSince = now
		r.good[name] = g
	}
	if now.Sub(g.bogusSince) >= r.cfg.maxStale {
		r.cfg.logger.Warn("dns: the name has been empty for longer than the stale limit; believing it", "name", name, "kind", kind, "since", g.bogusSince)
		r.good[name] = goodAnswer{}
		return nil
	}
	r.bogus.WithLabelValues(service, kind).Inc()
	r.cfg.logger.Warn("dns: disbelieving an empty answer for a name that had records; keeping the last good set", "name", name, "kind", kind, "endpoints", len(g.endpoints))
	return slices.Clone(g.endpoints)
}

func (r *Registry) clampTTL(ttl uint32) time.Duration {
	d := time.Duration(ttl) * time.Second
	return min(max(d, r.cfg.minTTL), r.cfg.maxTTL)
}

// query asks the server over UDP, and again over TCP when the UDP answer
// is truncated.
func (r *Registry) query(ctx context.Context, name string, qtype uint16) (*mdns.Msg, error) {
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(4096, false)
	for _, network := range []string{"udp", "tcp"} {
		c := &mdns.Client{Net: network, Timeout: r.cfg.timeout, UDPSize: 4096}
		qctx, cancel := context.WithTimeout(ctx, r.cfg.timeout)
		ans, _, err := c.ExchangeContext(qctx, m, r.server)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("dns: asking %s for %s over %s: %w", r.server, name, network, err)
		}
		if ans.Truncated && network == "udp" {
			continue
		}
		if ans.Truncated {
			return nil, fmt.Errorf("dns: the answer for %s is truncated even over TCP", name)
		}
		return ans, nil
	}
	return nil, fmt.Errorf("dns: the answer for %s is truncated over UDP and TCP was not tried", name)
}

// srvRecords is what an SRV answer says.
type srvRecords struct {
	srv      []*mdns.SRV
	addrs    map[string][]net.IP // target -> addresses from the additional section
	ttl      uint32              // the smallest TTL of the records used
	nxdomain bool
}

// interpret checks that ans answers the question for name and extracts its
// SRV records. It rejects answers a careful client must not use.
func interpret(ans *mdns.Msg, name string) (srvRecords, error) {
	var out srvRecords
	if !ans.Response {
		return out, errors.New("the reply is not a response")
	}
	if len(ans.Question) != 1 || !strings.EqualFold(ans.Question[0].Name, name) {
		return out, errors.New("the reply answers another question")
	}
	switch ans.Rcode {
	case mdns.RcodeSuccess:
	case mdns.RcodeNameError:
		out.nxdomain = true
		return out, nil
	default:
		return out, fmt.Errorf("the server answered %s", mdns.RcodeToString[ans.Rcode])
	}
	first := true
	keepTTL := func(ttl uint32) {
		if first || ttl < out.ttl {
			out.ttl, first = ttl, false
		}
	}
	for _, rr := range ans.Answer {
		srv, ok := rr.(*mdns.SRV)
		if !ok || !strings.EqualFold(srv.Hdr.Name, name) {
			continue // a CNAME chain or an unrelated record
		}
		if srv.Port == 0 || srv.Target == "" || srv.Target == "." {
			return out, fmt.Errorf("SRV record %q has no usable target", srv.String())
		}
		if _, ok := mdns.IsDomainName(srv.Target); !ok {
			return out, fmt.Errorf("SRV target %q is not a domain name", srv.Target)
		}
		out.srv = append(out.srv, srv)
		keepTTL(srv.Hdr.Ttl)
	}
	out.addrs = map[string][]net.IP{}
	for _, rr := range ans.Extra {
		switch a := rr.(type) {
		case *mdns.A:
			out.addrs[strings.ToLower(a.Hdr.Name)] = append(out.addrs[strings.ToLower(a.Hdr.Name)], a.A)
		case *mdns.AAAA:
			out.addrs[strings.ToLower(a.Hdr.Name)] = append(out.addrs[strings.ToLower(a.Hdr.Name)], a.AAAA)
		}
	}
	return out, nil
}

// ParseReply unpacks a raw DNS reply to an SRV question for name and
// returns the SRV records it carries; exported for the fuzzer and for
// tools that read captured replies.
func ParseReply(raw []byte, name string) ([]*mdns.SRV, error) {
	var m mdns.Msg
	if err := m.Unpack(raw); err != nil {
		return nil, fmt.Errorf("dns: the reply does not parse: %w", err)
	}
	recs, err := interpret(&m, mdns.Fqdn(name))
	return recs.srv, err
}

// endpoints turns SRV records into endpoints, resolving targets the
// additional section did not give an address for.
func (r *Registry) endpoints(ctx context.Context, recs srvRecords) ([]discovery.Endpoint, error) {
	var eps []discovery.Endpoint
	for _, srv := range recs.srv {
		target := strings.ToLower(srv.Target)
		ips := recs.addrs[target]
		if ip := net.ParseIP(strings.TrimSuffix(target, ".")); ip != nil {
			ips = []net.IP{ip}
		}
		if len(ips) == 0 {
			var err error
			if ips, err = r.lookupA(ctx, srv.Target); err != nil {
				return nil, err
			}
		}
		region, colour := r.cfg.region, ""
		if r.cfg.labeler != nil {
			if rg, c := r.cfg.labeler(srv.Target); rg != "" || c != "" {
				if rg != "" {
					region = rg
				}
				colour = c
			}
		}
		for _, ip := range ips {
			eps = append(eps, discovery.Endpoint{
				Addr:   net.JoinHostPort(ip.String(), strconv.Itoa(int(srv.Port))),
				Region: region,
				Colour: colour,
				Attributes: map[string]string{
					"target":   strings.TrimSuffix(srv.Target, "."),
					"priority": strconv.Itoa(int(srv.Priority)),
					"weight":   strconv.Itoa(int(srv.Weight)),
				},
			})
		}
	}
	return eps, nil
}

func (r *Registry) lookupA(ctx context.Context, target string) ([]net.IP, error) {
	ans, err := r.query(ctx, target, mdns.TypeA)
	if err != nil {
		return nil, err
	}
	if ans.Rcode != mdns.RcodeSuccess {
		return nil, fmt.Errorf("dns: SRV target %s has no address (%s)", target, mdns.RcodeToString[ans.Rcode])
	}
	var ips []net.IP
	for _, rr := range ans.Answer {
		if a, ok := rr.(*mdns.A); ok {
			ips = append(ips, a.A)
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("dns: SRV target %s has no A record", target)
	}
	return ips, nil
}
