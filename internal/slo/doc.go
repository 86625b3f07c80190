// Package slo turns a service's resolved policy table into the service
// level objectives its operators watch: a P99 latency objective and an
// availability target per method, the multi-window multi-burn-rate
// error-budget alerts of the SRE workbook, and the thresholds of the other
// governance alerts (breaker open, idempotency store unavailable, rate-limited
// share, registration lease lost).
//
// It exists so that the artefacts generated from one declaration (the
// Prometheus rules of internal/alertrules, the Grafana dashboard of
// internal/dashboard) agree on every number: both render a Plan, never the
// raw policy.
//
// Objectives start from the method's tier (gold < 50ms, silver < 200ms,
// bronze < 1s at P99; 99.9%, 99.5% and 99% of calls succeeding) and can be
// overridden per method in an objectives file (slo.yaml, see ParseConfig).
// Nothing is re-resolved: the policy comes from the generated policy.Table.
//
// Every problem is a Problem naming the fix, positioned at file:line:col in
// the objectives file, or attached to a method and a policy field so that the
// caller (protoc-gen-govern) can position it in the proto source.
package slo
