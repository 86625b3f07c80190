package governance

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/client"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/metrics"
	"github.com/govkit/govern/runtime/ratelimit"
	"github.com/govkit/govern/runtime/tracing"
)

// Option configures a Governor.
type Option func(*config)

type config struct {
	groupHeader          string
	groupValues          []string
	service, env, region string
	registerer           prometheus.Registerer
	logger               *slog.Logger
	tracerProvider       trace.TracerProvider
	propagator           propagation.TextMapPropagator
	rateLimitStore       ratelimit.Store
	tracingOptions       []tracing.Option
	guardOptions         []metrics.GuardOption
	metricsOptions       []metrics.Option
	rateLimitOptions     []ratelimit.Option
	codeLevel            func(codes.Code) slog.Level
	idempotencyStore     idempotency.Store
	idempotencyOptions   []idempotency.Option
	resolution           client.Resolution
}

// WithService sets the const labels service, env and region carried by
// every metric series the governor (and everything registered on its
// Registerer) exports. Left unset they are "unknown".
func WithService(name, env, region string) Option {
	return func(c *config) { c.service, c.env, c.region = name, env, region }
}

// WithRegisterer registers the governor's collectors on reg (wrapped with
// the service/env/region labels) instead of a private registry. Nothing is
// ever registered on prometheus.DefaultRegisterer unless you pass it here.
// Several governors (one per service, as the generated SvcInterceptors
// build them) may share reg: they then share their collectors.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(c *config) { c.registerer = reg }
}

// WithLogger sets the logger of call lines and recovered panics. Default:
// logging.New(os.Stderr, slog.LevelInfo), JSON.
func WithLogger(logger *slog.Logger) Option {
	return func(c *config) { c.logger = logger }
}

// WithTracerProvider traces governed calls with tp; configure tp with
// tracing.NewSampler(table) so that spans started outside the chain follow
// the same per-method ratios. Without it calls are not traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProvider = tp }
}

// WithTracingOptions passes options to the server spans' sampling, such
// as tracing.WithProductionCap(env, cfg.Sampling, exemptTiers...) with the
// config's `sampling`. In a production env (WithService) the governor caps
// every method's root sampling at policy.MaxProductionSampling (1%) unless
// such an option says otherwise. Give the TracerProvider's
// tracing.NewSampler the same options.
func WithTracingOptions(opts ...tracing.Option) Option {
	return func(c *config) { c.tracingOptions = append(c.tracingOptions, opts...) }
}

// WithCardinalityGuard configures the guard every collector registered
// through Registerer() passes (gateway, clients, idempotency, your own
// metrics): by default each label keeps metrics.DefaultMaxLabelValues
// distinct values and folds the rest into "other"; see
// metrics.CardinalityGuard.
func WithCardinalityGuard(opts ...metrics.GuardOption) Option {
	return func(c *config) { c.guardOptions = append(c.guardOptions, opts...) }
}

// WithPropagator replaces tracing.Propagator() (W3C + baggage + B3) as the
// way incoming trace context is read.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.propagator = p }
}

// WithRateLimitStore gives DISTRIBUTED rate limits the store they share
// across replicas; for Redis or a Redis Cluster,
// redislimit.New(client) from runtime/ratelimit/redislimit. Without it they
// count per replica. The governor itself never links a Redis client.
func WithRateLimitStore(store ratelimit.Store) Option {
	return func(c *config) { c.rateLimitStore = store }
}

// WithMetricsOptions passes options (histogram buckets) to the server
// metrics.
func WithMetricsOptions(opts ...metrics.Option) Option {
	return func(c *config) { c.metricsOptions = append(c.metricsOptions, opts...) }
}

// WithIdempotencyStore sets the store that deduplicates the calls of
// methods with an idempotency policy: for a fleet, a store every replica
// shares, such as redisstore.New(client) from
// runtime/idempotency/redisstore. Default: an in-memory store (one
// replica). No store is built for a table without idempotent methods.
func WithIdempotencyStore(store idempotency.Store) Option {
	return func(c *config) { c.idempotencyStore = store }
}

// WithIdempotencyOptions passes options (fail-open, key scope, ...) to the
// idempotency server. The governor's registerer and logger are passed
// already.
func WithIdempotencyOptions(opts ...idempotency.Option) Option {
	return func(c *config) { c.idempotencyOptions = append(c.idempotencyOptions, opts...) }
}

// WithRateLimitOptions passes options (such as ratelimit.WithStoreTimeout)
// to every method's rate limiter.
func WithRateLimitOptions(opts ...ratelimit.Option) Option {
	return func(c *config) { c.rateLimitOptions = append(c.rateLimitOptions, opts...) }
}

// WithCodeLevel replaces logging.CodeLevel as the level of each call's log
// line by its status code, for instance to log successes at Info.
func WithCodeLevel(level func(codes.Code) slog.Level) Option {
	return func(c *config) { c.codeLevel = level }
}
