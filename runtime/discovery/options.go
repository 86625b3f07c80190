package discovery

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Scheme is the target scheme of the resolver: govern:///inventory.
const Scheme = "govern"

// Defaults of the health probing, the values the field guide runs with.
const (
	DefaultProbeInterval = 5 * time.Second
	DefaultProbeTimeout  = 800 * time.Millisecond
)

type config struct {
	region           string
	defaultColour    string
	minLocalFraction float64
	probe            probeConfig
	probing          bool
	registerer       prometheus.Registerer
	logger           *slog.Logger
	retryBackoff     time.Duration
	maxRetryBackoff  time.Duration
}

func defaultConfig() config {
	return config{
		defaultColour: DefaultColour,
		probe: probeConfig{
			interval:    DefaultProbeInterval,
			timeout:     DefaultProbeTimeout,
			threshold:   1,
			dialOptions: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())},
		},
		probing:         true,
		logger:          slog.Default(),
		retryBackoff:    100 * time.Millisecond,
		maxRetryBackoff: 5 * time.Second,
	}
}

// Option configures a Builder.
type Option func(*config)

// WithLocalRegion sets the caller's own region, the one the balancer
// prefers. Without it no region is local and calls spread over every region.
func WithLocalRegion(region string) Option { return func(c *config) { c.region = region } }

// WithDefaultColour sets the colour of calls that ask for none and the
// fallback of calls whose colour has no healthy endpoint (default
// DefaultColour).
func WithDefaultColour(colour string) Option {
	return func(c *config) { c.defaultColour = colour }
}

// WithMinLocalFraction makes the balancer fail over when fewer than f of
// the caller region's known endpoints of a colour are ready (0, the
// default, fails over only when none is). Failing over spreads calls over
// the ready endpoints of every region, the local ones included.
func WithMinLocalFraction(f float64) Option {
	return func(c *config) { c.minLocalFraction = f }
}

// WithProbe sets the interval and the timeout of the grpc.health.v1 probe
// of each endpoint (defaults DefaultProbeInterval, DefaultProbeTimeout).
func WithProbe(interval, timeout time.Duration) Option {
	return func(c *config) { c.probe.interval, c.probe.timeout = interval, timeout }
}

// WithProbeThreshold sets how many failed probes in a row make a healthy
// endpoint unhealthy (default 1: the first failure). A higher threshold
// rides out one slow probe on a loaded host at the cost of a later
// failover (up to threshold intervals). One success makes an endpoint
// healthy again.
func WithProbeThreshold(failures int) Option {
	return func(c *config) { c.probe.threshold = failures }
}

// WithProbeService sets the service name sent in health checks (default
// "", the whole server).
func WithProbeService(name string) Option { return func(c *config) { c.probe.service = name } }

// WithProbeDialOptions replaces the dial options of the probes' own
// connections (default: insecure transport credentials). Pass the same
// credentials the calls use.
func WithProbeDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) { c.probe.dialOptions = opts }
}

// WithoutProbing turns health probing off: every endpoint the registry
// lists is used. For registries that only list healthy instances already
// (Consul's passing filter) and for tests.
func WithoutProbing() Option { return func(c *config) { c.probing = false } }

// WithRegisterer registers the discovery metrics on reg.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(c *config) { c.registerer = reg }
}

// WithLogger sets the logger of registry errors and failovers (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithRetryBackoff sets the first and the largest wait between two
// attempts to read a failing registry (defaults 100ms and 5s).
func WithRetryBackoff(first, max time.Duration) Option {
	return func(c *config) { c.retryBackoff, c.maxRetryBackoff = first, max }
}
