// Package metrics exports the server side of a governed service to
// Prometheus with client_golang: the go-grpc-middleware series
// (grpc_server_started_total, grpc_server_handled_total,
// grpc_server_handling_seconds, grpc_server_msg_received_total,
// grpc_server_msg_sent_total, labels grpc_type / grpc_service /
// grpc_method / grpc_code) so existing dashboards and alerts keep working,
// plus a tier label, govern_ratelimit_rejected_total and
// govern_breaker_state.
//
// Label values come only from the policy table, never from a request, so a
// caller cannot grow the series count: a method that is not in the table is
// not given series at all. Method pre-creates every series of a table
// method at zero, which makes "no traffic" visible as 0 on dashboards and in
// rate() rather than as a missing series.
//
// Nothing is registered globally. The service/env/region const labels are
// added by the registerer the collectors are registered on
// (prometheus.WrapRegistererWith, done by runtime/governance), so every
// series of every govern package carries them. ServiceLabelsFirst writes
// those three first in the exposition, so `grep '{service="payment"'`
// finds a service's series (Prometheus itself ignores label order).
//
// Label values from requests can still reach a collector the governor
// does not own: a gateway route that is a raw path, a user's metric with a
// user_id label. CardinalityGuard, the registerer behind
// governance.Governor.Registerer, caps the distinct values of every label
// of every family registered through it (DefaultMaxLabelValues), folds the
// overflow into "other" and counts it in
// govern_metric_series_folded_total{metric}, so one mistake costs one
// series, not one per user. It works at scrape time: the collectors stay
// plain client_golang ones and recording a value costs nothing more.
package metrics
