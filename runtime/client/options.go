package client

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govkit/govern/runtime/policy"
)

// Option configures DialOptions.
type Option func(*options)

type options struct {
	registerer prometheus.Registerer
	alpha      float64
	alphaSet   bool
	maxTokens  float64
	tokenRatio float64
	budgetSet  bool
	rttWindow  time.Duration
	retries    []retryOverride
	breakers   bool
	gateway    bool
	resolution Resolution
}

type retryOverride struct {
	fullMethod string
	retry      policy.Retry
}

// WithRegisterer registers the client metrics (grpc_client_started_total,
// grpc_client_handled_total, grpc_client_handling_seconds and
// govern_retry_attempts_total) on r. Without it nothing is exported. Wrap r
// with prometheus.WrapRegistererWith to add the service/env/region labels.
func WithRegisterer(r prometheus.Registerer) Option {
	return func(o *options) { o.registerer = r }
}

// WithAlpha sets the RTT sensitivity α of the adaptive backoff (default
// 1.3, allowed 0..20; 0 makes the backoff ignore RTT).
func WithAlpha(alpha float64) Option {
	return func(o *options) { o.alpha, o.alphaSet = alpha, true }
}

// WithRetryBudget sets the gRFC A6 retry token bucket of each target:
// maxTokens in (0, 1000], tokenRatio in (0, 1]. It applies to the adaptive
// interceptor's budget and to the retryThrottling of the service config
// that drives gRPC's native retries. Default 10 and 0.1.
func WithRetryBudget(maxTokens, tokenRatio float64) Option {
	return func(o *options) { o.maxTokens, o.tokenRatio, o.budgetSet = maxTokens, tokenRatio, true }
}

// WithRetry replaces the retry policy of fullMethod for this client, e.g. to
// make a read adaptive or to tune its backoffs. MaxAttempts below 2 turns
// retries off for the method. DialOptions fails, naming the method, when
// fullMethod is not in the table or is not retry safe (not IDEMPOTENT,
// NO_SIDE_EFFECTS or keyed by an idempotency block): a method that is not
// idempotent is never retried, whatever the caller configures.
func WithRetry(fullMethod string, r policy.Retry) Option {
	return func(o *options) { o.retries = append(o.retries, retryOverride{fullMethod, r}) }
}

// WithRTTWindow sets the window of the per-target RTT estimator behind the
// adaptive backoff (default 10s); the learned baseline is the P99 of the
// first window.
func WithRTTWindow(d time.Duration) Option {
	return func(o *options) { o.rttWindow = d }
}

// WithoutBreakers turns the client circuit breakers off, e.g. when a
// service mesh already breaks circuits for this target.
func WithoutBreakers() Option {
	return func(o *options) { o.breakers = false }
}

// ForGateway makes the options those of an HTTP gateway's connection, which
// forwards calls on behalf of HTTP callers:
//
//   - no idempotency key is ever minted: a call carries the key its HTTP
//     caller sent (Idempotency-Key, or the key fields of the body) or none,
//     so a required key missing over HTTP is always 400
//     IDEMPOTENCY_KEY_MISSING. Minting one here, as ordinary clients do,
//     would pass the server's check and run every retried POST again;
//   - a method that is retry safe only through an idempotency key that is
//     not required is not retried: a call without a key has nothing that
//     deduplicates it. Methods declared IDEMPOTENT or NO_SIDE_EFFECTS and
//     methods whose key is required keep their retry policy.
//
// governance.Governor.GatewayDialOptions applies it.
func ForGateway() Option {
	return func(o *options) { o.gateway = true }
}
