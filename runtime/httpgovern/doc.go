// Package httpgovern serves the govern policy of HTTP operations through a
// net/http middleware: the same policy table type, governor, timeouts and
// idempotency stores as gRPC (runtime/governance), answering over HTTP:
//
//   - rate limit: 429 with Retry-After;
//   - circuit breaker open: 503;
//   - timeout: the request context carries the policy's deadline, and a
//     handler that runs past it without answering gets 504;
//   - idempotency on the Idempotency-Key header (or the key fields): 400
//     when a required key is missing or malformed, 409 with Retry-After
//     while the first call runs, 422 when the key comes with a different
//     request, and the first response replayed byte for byte (status,
//     headers, body) after it finished;
//   - http_request_duration_seconds{route,method,code} with the route
//     template of the Go 1.22 ServeMux (r.Pattern), never the raw path,
//     and the const labels service, env, region;
//   - tier-sampled server spans continuing W3C traceparent or B3 headers;
//   - every rejection as application/problem+json (runtime/problem).
//
// The middleware reads the matched pattern, so install it inside the mux:
// as oapi-codegen's StdHTTPServerOptions.Middlewares, or around each
// handler given to ServeMux.Handle. Routes come from the generated table
// (policy.Route, pattern = path template); a request whose pattern is not
// governed costs one map lookup.
//
// # Admission
//
// Rate limit, circuit breaker and policy timeout are not the middleware's
// own: every governed request is admitted by a governance.Governor
// (Governor.Admit) and ends with Admission.Done, as a gRPC call is, so
// traffic groups, breaker audit logs and metrics, and the classification
// of outcomes are the gRPC chain's. The outcome of a request is the gRPC
// code its answer stands for (problem.CodeOf): 500, 502, 503 and 504 count
// against the breaker as INTERNAL, UNAVAILABLE and DEADLINE_EXCEEDED do
// (breaker.IsFailure), a panic as INTERNAL; a 4xx, a 501 (UNIMPLEMENTED)
// and a request whose client went away (CANCELLED) do not.
//
// New builds that governor from the routes' policies, with WithService,
// WithRegisterer, WithLogger, WithRateLimitStore and WithTrafficGroups;
// it exports the breaker and rate-limit series (govern_breaker_state,
// govern_ratelimit_rejected_total, ...) and no gRPC call series.
//
// A service that serves the same operations over gRPC passes its gRPC
// governor with WithGovernor instead: state is keyed by the policy's
// FullMethod, so an OpenAPI operation whose x-govern names grpc_method
// spends the gRPC method's rate limit and trips its breaker, per traffic
// group. With the same idempotency store (WithIdempotencyStore, or the same
// Redis store) it also shares the method's idempotency keys: a key used over
// one transport and replayed over the other is answered 409 while in flight
// and 422 after (the requests' encodings differ), never run twice.
package httpgovern
