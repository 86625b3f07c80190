// Package gateway builds the grpc-gateway v2 ServeMux of a governed service:
// the HTTP/JSON face generated from google.api.http annotations, with the
// governance contract carried across the protocol boundary.
//
// NewServeMux returns a *runtime.ServeMux that
//
//   - forwards the Idempotency-Key header to the gRPC metadata key
//     idempotency-key, and the B3 (x-b3-traceid, x-b3-spanid,
//     x-b3-parentspanid, x-b3-sampled, x-b3-flags, b3) and W3C (traceparent,
//     tracestate) trace headers under their own names, so the server chain
//     deduplicates and traces HTTP calls exactly like gRPC calls;
//   - answers govern rejections with RFC 9457 application/problem+json bodies
//     and the HTTP status the contract fixes, chosen by the ErrorInfo reason
//     (never by message text): IDEMPOTENCY_KEY_MISSING and
//     IDEMPOTENCY_KEY_INVALID 400, IDEMPOTENCY_IN_FLIGHT 409,
//     IDEMPOTENCY_KEY_REUSED 422, RATE_LIMITED 429, CIRCUIT_OPEN and
//     IDEMPOTENCY_STORE_UNAVAILABLE 503, with Retry-After from the status'
//     RetryInfo. Every other error — a backend status, a body that is not
//     valid JSON, a path no route takes (404), a method a path does not take
//     (405) — is problem+json too, with type about:blank and the status of
//     grpc-gateway's code mapping, so clients parse one error format;
//   - marks the context of every call it forwards (runtime/internal/
//     callorigin), so runtime/idempotency's client interceptor never mints
//     a key on the gateway's connection: the gateway forwards its caller's
//     Idempotency-Key or none, and a required key missing over HTTP is
//     always 400. Dial that connection with
//     governance.Governor.GatewayDialOptions (client.ForGateway), which
//     also drops retries that only an optional key makes safe;
//   - records http_request_duration_seconds{route,method,code} on the
//     prometheus.Registerer passed with WithRegisterer, where route is the
//     matched path TEMPLATE ("/v1/orders/{id}"), never the request path: a
//     label taken from the raw path lets any client create unbounded series.
//
// Register is what generated Register<Svc>Gateway functions call: it checks
// the service's route table (generated from the same annotations as the
// handlers) and then mounts the grpc-gateway handlers on the mux. Checking
// first turns a mismatched or malformed table into a startup error instead of
// a route that silently 404s.
//
// The mux is an http.Handler; serve it on its own port, or on one explicit
// http.ServeMux next to the admin handler (admin.Handler.Mount) — never on
// http.DefaultServeMux.
package gateway
