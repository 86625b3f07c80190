// Package dashboard renders a service's objectives (an slo.Plan) as a
// Grafana dashboard, built with the Grafana Foundation SDK
// (github.com/grafana/grafana-foundation-sdk/go) rather than by hand, so
// the JSON follows Grafana's schema as the SDK's version models it.
//
// One dashboard per service, filtered by the service's grpc_service label
// and by env and region variables, with the panels an on-call engineer
// opens first: calls per second per method, errors by gRPC code, each
// method's P99 against its latency objective (the objective drawn as a
// threshold line), circuit breaker state, rate-limit rejections and
// idempotency outcomes (executed, replayed, in_flight, key_reused and the
// failures), each from the series the govern runtime exports.
package dashboard
