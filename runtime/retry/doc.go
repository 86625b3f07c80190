// Package retry retries idempotent unary gRPC calls with a backoff that
// adapts to the target's round-trip time, within a retry budget.
//
// gRPC's native retry (configured through the service config that
// runtime/serviceconfig emits) backs off by a fixed schedule: initial ×
// multiplier^n. Across regions that schedule is wrong twice: a backoff tuned
// for a 2 ms neighbour hammers a target 200 ms away that is struggling, and
// one tuned for the far target makes every near retry wait. This package
// serves the methods whose policy sets Retry.Adaptive, and only those (a
// method is never retried by both): the n-th retry after a failure waits a
// uniformly random time in [0, ceiling] ("full jitter") with
//
//	ceiling = min(initial × multiplier^n × e^(α × (rttP99/rttBaseline − 1)), max_backoff)
//
// where rttP99 is the P99 round trip to the target over the last one to two
// windows (runtime/rtt), rttBaseline is the policy's RTTBaseline or, when it
// has none, the P99 of the target's first window, or until that is learned
// DefaultRTTBaseline (210 ms), and α is 1.3 by default. At the baseline the
// first ceiling is exactly the configured initial backoff; a target whose
// P99 has doubled gets e^1.3 ≈ 3.7 ×, tripled e^2.6 ≈ 13.5 ×, quickly
// reaching max_backoff. The defaults are the field guide's: initial 100 ms,
// cap 2 s. DESIGN 4.4's exponent α × rttP99/rttBaseline would put the
// ceiling at 3.7 × initial when nothing is wrong; subtracting one keeps the
// growth per baseline and makes the configured number true at the
// baseline. Later retries grow by the policy's multiplier as gRPC's own do.
//
// A retry is sent only when every one of these holds:
//
//   - the method is retry safe (IDEMPOTENT, NO_SIDE_EFFECTS or keyed by an
//     idempotency block); New refuses adaptive policies on anything else, so
//     a method that is not idempotent is never retried, whatever the caller
//     configures;
//   - the status code is one of the policy's codes (default UNAVAILABLE) and
//     is not a CIRCUIT_OPEN rejection;
//   - the server sent no grpc-retry-pushback-ms trailer saying stop (a
//     negative, malformed or repeated value); a valid one replaces the
//     backoff and restarts its growth, as gRFC A6 says;
//   - attempts so far are below max_attempts (≤ 5);
//   - (not a condition but a floor) a google.rpc.RetryInfo delay in the
//     failed status, as govern's own rejections carry, is the least the
//     backoff waits;
//   - the target's retry budget, a gRFC A6 token bucket (failures cost 1,
//     successes refund tokenRatio, retries need more than half of maxTokens)
//     allows it: under a total outage the bucket is drained after maxTokens/2
//     failures and every later call is a single attempt;
//   - the call's deadline leaves room for the backoff plus the target's
//     median round trip: an attempt that cannot finish is not sent, and the
//     caller gets the real error instead of DEADLINE_EXCEEDED.
//
// The Retrier never changes the call's context metadata, so an idempotency
// key attached by an outer interceptor travels on every attempt. Per-attempt
// deadlines come from the service config's per-method timeout (or an inner
// deadline interceptor, as runtime/client assembles it).
//
// Every attempt of an adaptive call reports one Outcome, which runtime/client
// counts as govern_retry_attempts_total{grpc_method,outcome}.
//
// Subpackage retrytest serves a scripted gRPC service on loopback for tests
// of client retry behaviour.
package retry
