// Package governance is the entry point of govern's server runtime: it
// turns a generated policy table into one gRPC interceptor chain, so every
// method of a service gets its declared timeout, rate limit, circuit
// breaker, panic recovery, metrics, trace sampling and logs with no
// hand-written interceptor:
//
//	g, err := governance.New(orderv1.OrderServicePolicy,
//		governance.WithService("order", "prod", "us-west-2"),
//		governance.WithRegisterer(registry),
//		governance.WithTracerProvider(tp))
//	srv := grpc.NewServer(g.ServerOptions()...)
//
// # The chain
//
// For a governed unary call, in this order:
//
//  1. recovery: a panic anywhere below becomes INTERNAL, logged with its
//     stack (runtime/recovery); the process keeps serving;
//  2. metrics, tracing, logging: grpc_server_* series with a tier label
//     (runtime/metrics), a server span sampled at the method's ratio
//     (runtime/tracing), one JSON log line (runtime/logging);
//  3. rate limit: RESOURCE_EXHAUSTED / RATE_LIMITED (runtime/ratelimit),
//     LOCAL or DISTRIBUTED through WithRateLimitStore;
//  4. circuit breaker: UNAVAILABLE / CIRCUIT_OPEN (runtime/breaker);
//  5. timeout: deadline = min(incoming, policy) (runtime/timeout);
//  6. idempotency: keyed calls run once, duplicates get the stored result
//     (runtime/idempotency; store from WithIdempotencyStore, else in
//     memory);
//  7. the handler.
//
// Streaming methods get recovery, metrics, tracing, logging, the rate limit
// and breaker at stream start, and the policy timeout when one is declared.
// A method absent from the table, or Disabled, costs one map lookup and goes
// straight to its handler. Everything per method (limiter, breaker, metric
// series, span options) is resolved once in New, and the chain is one
// function rather than nested interceptors: the whole governed call adds
// under 1 µs and one allocation (docs/benchmarks.md).
//
// # Metrics
//
// Collectors are registered on the registerer of WithRegisterer, or on a
// private registry that Registry returns, never on the global one. Either
// way they go through Registerer, a registerer wrapped with the const labels
// of WithService (service, env, region): register other govern collectors
// (idempotency, client, gateway) there so every series carries them, and
// serve Gatherer on the admin endpoint. Every table method's series exist at
// zero from New on; label values come from the table only.
package governance
