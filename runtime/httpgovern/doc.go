// Package httpgovern serves the govern policy of HTTP operations through a
// net/http middleware: the same policy table type, limiters, breakers,
// timeouts and idempotency stores as the gRPC governor
// (runtime/governance), answering over HTTP:
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
// One service may serve the same operation over gRPC and HTTP. State is
// keyed by the policy's FullMethod, so an OpenAPI operation whose x-govern
// names grpc_method shares, through WithGovernor, the gRPC method's rate
// limiter and breaker, and, with the same store (WithIdempotencyStore, or
// the same Redis store), its idempotency keys: a key used over one transport and
// replayed over the other is answered 409 while in flight and 422 after
// (the requests' encodings differ), never run twice.
package httpgovern
