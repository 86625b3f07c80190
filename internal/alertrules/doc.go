// Package alertrules renders a service's objectives (an slo.Plan) as
// Prometheus recording and alerting rules: a rule file for Prometheus's
// rule_files, and the same groups as a Kubernetes PrometheusRule for the
// Prometheus Operator.
//
// The rules query the series the govern runtime exports
// (grpc_server_handled_total, grpc_server_handling_seconds,
// govern_breaker_state, govern_ratelimit_rejected_total,
// govern_idempotency_total, govern_registration_lease_lost_total) by the
// labels it puts on them, so a team gets alerts that match its services
// without writing PromQL:
//
//   - error-budget burn: the SRE workbook's multi-window, multi-burn-rate
//     alerts over recorded error ratios (page at 14.4x over 1h/5m and 6x
//     over 6h/30m, ticket at 3x over 1d/2h and 1x over 3d/6h by default);
//   - latency: the recorded P99 above the method's objective;
//   - a circuit breaker open for longer than its open_for;
//   - the idempotency store failing (calls rejected as unavailable);
//   - the share of rate-limited calls above a threshold;
//   - a discovery registration lease lost.
//
// Methods sharing a threshold share one rule (grpc_method=~"A|B"), which
// keeps a 10-method service at a few dozen rules while every firing alert
// still carries its method's labels.
package alertrules
