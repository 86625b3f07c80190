package httpgovern

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/ratelimit"
)

// Option configures a Middleware.
type Option func(*config)

type config struct {
	service, env, region string
	registerer           prometheus.Registerer
	logger               *slog.Logger
	tracerProvider       trace.TracerProvider
	propagator           propagation.TextMapPropagator
	rateLimitStore       ratelimit.Store
	store                idempotency.Store
	governor             *governance.Governor
	groupHeader          string
	groupValues          []string
	maxBody              int64
	failOpen             bool
	buckets              []float64
}

// WithService sets the const labels service, env and region of every
// metric series. Left unset they are "unknown".
func WithService(name, env, region string) Option {
	return func(c *config) { c.service, c.env, c.region = name, env, region }
}

// WithRegisterer registers the middleware's collectors on reg (wrapped with
// the service labels). Default: a private registry (Registry).
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(c *config) { c.registerer = reg }
}

// WithLogger logs recovered panics and store failures. Default: discard.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithTracerProvider traces governed requests; without it they are not
// traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProvider = tp }
}

// WithPropagator replaces tracing.Propagator() (W3C + baggage + B3).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.propagator = p }
}

// WithRateLimitStore gives DISTRIBUTED rate limits the store replicas
// share, such as redislimit.New(client) from runtime/ratelimit/redislimit.
// Without it they count per replica. It configures the governor New
// builds; with WithGovernor, give it to governance.New instead (New says
// so).
func WithRateLimitStore(store ratelimit.Store) Option {
	return func(c *config) { c.rateLimitStore = store }
}

// WithTrafficGroups splits every operation's circuit breaker and rate
// limit by the traffic group named in the request header header, as
// governance.WithTrafficGroups does for gRPC (whose doc gives the rules):
// with WithTrafficGroups("X-Canary", "true"), canary requests trip their
// own breaker and spend their own bucket while the rest of the traffic is
// served. It configures the governor New builds; with WithGovernor, give
// governance.WithTrafficGroups to governance.New instead.
func WithTrafficGroups(header string, values ...string) Option {
	return func(c *config) { c.groupHeader, c.groupValues = header, values }
}

// WithIdempotencyStore sets the idempotency store, such as
// redisstore.New(client) from runtime/idempotency/redisstore for replicas
// that share results. Give the gRPC governor the same one to share keys
// across transports. Default: in memory (one replica).
func WithIdempotencyStore(s idempotency.Store) Option {
	return func(c *config) { c.store = s }
}

// WithGovernor admits requests through g, the governor of the service's
// gRPC side, instead of one New builds from the routes: an operation
// served over both transports then spends one rate limit and trips one
// circuit breaker (per traffic group), whichever transport the calls
// come over. g's table must declare, for the FullMethod of every governed
// route, the rate limit, circuit breaker and timeout the route declares
// (both resolved from one policy, such as x-govern naming grpc_method);
// New names any route where they differ. g carries the rate-limit store
// and traffic groups, so New rejects WithRateLimitStore and
// WithTrafficGroups next to it.
func WithGovernor(g *governance.Governor) Option { return func(c *config) { c.governor = g } }

// WithMaxBodyBytes bounds the request body buffered for idempotency
// (default 1 MiB); larger bodies are answered 413.
func WithMaxBodyBytes(n int64) Option { return func(c *config) { c.maxBody = n } }

// WithFailOpen runs keyed requests without deduplication when the
// idempotency store is unreachable, instead of answering 503.
func WithFailOpen() Option { return func(c *config) { c.failOpen = true } }

// WithBuckets sets the histogram buckets of http_request_duration_seconds.
func WithBuckets(b ...float64) Option { return func(c *config) { c.buckets = b } }
