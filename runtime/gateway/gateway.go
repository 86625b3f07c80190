package gateway

import (
	"net/http"
	"net/textproto"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govkit/govern/runtime/internal/callorigin"
)

// Option configures NewServeMux.
type Option func(*config)

type config struct {
	registerer    prometheus.Registerer
	buckets       []float64
	headerMatcher runtime.HeaderMatcherFunc
	forwarded     map[string]string
	errorHandler  runtime.ErrorHandlerFunc
	muxOptions    []runtime.ServeMuxOption
}

// WithRegisterer records the gateway's HTTP metrics on reg. Pass the same
// (const-labelled) Registerer the rest of the runtime uses, so the series
// carry service, env and region; without it no metrics are recorded.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(c *config) { c.registerer = reg }
}

// WithBuckets sets the duration histogram's buckets in seconds (default
// prometheus.DefBuckets).
func WithBuckets(buckets ...float64) Option {
	return func(c *config) { c.buckets = buckets }
}

// WithHeaderMatcher decides about headers the gateway does not forward
// itself (default runtime.DefaultHeaderMatcher). The governance and trace
// headers are always forwarded.
func WithHeaderMatcher(fn runtime.HeaderMatcherFunc) Option {
	return func(c *config) { c.headerMatcher = fn }
}

// WithForwardedHeaders forwards each named HTTP header to the gRPC
// metadata key of its lower-case name, whatever WithHeaderMatcher decides:
// pass the header of governance.WithTrafficGroups (x-canary, x-region) so
// an HTTP caller's traffic group reaches the server's breakers and limits
// as a gRPC caller's does. grpc-gateway's default matcher forwards only
// Grpc-Metadata-* and permanent headers, which would put every HTTP caller
// in the default group. Empty names are ignored, so an unset group header
// of a config needs no check.
func WithForwardedHeaders(names ...string) Option {
	return func(c *config) {
		for _, name := range names {
			if name == "" {
				continue
			}
			if c.forwarded == nil {
				c.forwarded = map[string]string{}
			}
			c.forwarded[textproto.CanonicalMIMEHeaderKey(name)] = strings.ToLower(name)
		}
	}
}

// WithErrorHandler answers errors that are not govern rejections. By
// default they are problem+json too (type about:blank, the status of
// grpc-gateway's gRPC-code mapping), so a client parses one error format;
// pass runtime.DefaultHTTPErrorHandler for grpc-gateway's own JSON.
func WithErrorHandler(fn runtime.ErrorHandlerFunc) Option {
	return func(c *config) { c.errorHandler = fn }
}

// WithServeMuxOptions passes further grpc-gateway options (marshalers,
// forward-response options, ...). They are applied after the gateway's own,
// so an option setting the header matcher, error handler or routing error
// handler replaces the gateway's: use WithHeaderMatcher and WithErrorHandler
// to extend those instead.
func WithServeMuxOptions(opts ...runtime.ServeMuxOption) Option {
	return func(c *config) { c.muxOptions = append(c.muxOptions, opts...) }
}

// NewServeMux returns a grpc-gateway ServeMux that forwards the idempotency
// and trace headers, answers govern rejections with problem+json, and
// records HTTP metrics by route template. Mount the service handlers on it
// with the generated Register<Svc>Gateway (which calls Register).
//
// It panics, like prometheus.MustRegister, if the Registerer already holds a
// different metric under the gateway's metric names.
func NewServeMux(opts ...Option) *runtime.ServeMux {
	cfg := config{
		buckets:       prometheus.DefBuckets,
		headerMatcher: runtime.DefaultHeaderMatcher,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	muxOpts := []runtime.ServeMuxOption{
		runtime.WithIncomingHeaderMatcher(headerMatcher(cfg.forwarded, cfg.headerMatcher)),
		runtime.WithErrorHandler(errorHandler(cfg.errorHandler)),
		runtime.WithRoutingErrorHandler(routingErrorHandler),
	}
	if cfg.registerer == nil {
		muxOpts = append(muxOpts, runtime.WithMiddlewares(markForwarded))
	} else { // the metrics middleware marks forwarded calls itself
		m := newHTTPMetrics(cfg.registerer, cfg.buckets)
		muxOpts = append(muxOpts,
			runtime.WithMiddlewares(m.middleware),
			runtime.WithMetadata(captureTemplate),
			runtime.WithRoutingErrorHandler(m.routingErrorHandler(routingErrorHandler)),
		)
	}
	muxOpts = append(muxOpts, cfg.muxOptions...)
	return runtime.NewServeMux(muxOpts...)
}

// markForwarded marks the request context of every mounted handler as a
// call the gateway forwards. The generated handlers call the backend with
// that context, so runtime/idempotency's client interceptor sees the mark
// and never mints a key the HTTP caller did not send: with a key minted on
// the gateway's connection, a POST without Idempotency-Key would pass a
// required-key check and run once per retry.
func markForwarded(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		next(w, r.WithContext(callorigin.WithGateway(r.Context())), pathParams)
	}
}
