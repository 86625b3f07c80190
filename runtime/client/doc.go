// Package client assembles govern's client side: the dial options that make
// every call of a ClientConn follow its method's policy.
//
//	opts, err := client.DialOptions(orderv1.OrderServicePolicy,
//		client.WithRegisterer(reg))
//	if err != nil { ... }
//	conn, err := grpc.NewClient(target, append(opts, creds)...)
//
// A call then gets, by its method's policy:
//
//   - a deadline: the policy timeout, for each attempt (service config, and
//     an interceptor that keeps it when a resolver replaces the service
//     config);
//   - retries only where the method is retry safe (IDEMPOTENT,
//     NO_SIDE_EFFECTS or keyed by an idempotency block): through gRPC's
//     native retry and the service config's retryThrottling for plain
//     policies, through runtime/retry's RTT-adaptive interceptor for
//     Retry.Adaptive ones, never both; a retry policy on any other method
//     (in the table or from WithRetry) makes DialOptions fail;
//   - the same idempotency key on every attempt of one logical call
//     (runtime/idempotency's client interceptor runs outermost), except on
//     an HTTP gateway's connection (ForGateway), which forwards its
//     caller's key or none and never mints one;
//   - a circuit breaker per target+method (runtime/breaker): when it is
//     open the call fails at once with UNAVAILABLE and ErrorInfo reason
//     CIRCUIT_OPEN, without a network call;
//   - the metrics grpc_client_started_total, grpc_client_handled_total and
//     grpc_client_handling_seconds (go-grpc-middleware's names and labels,
//     one count per logical call) and govern_retry_attempts_total{grpc_method,
//     outcome} (one count per attempt of calls with a retry policy, native
//     attempts counted by a stats handler), on the registerer passed with
//     WithRegisterer.
//
// Why this shape: the seed's duplicate orders came from blind retries of
// writes, and go-zero answered retry storms by removing retries. govern keeps
// retries, where the policy proves them safe, and bounds them (attempt cap,
// gRFC A6 budget, deadline-aware, pushback-aware). See docs/client.md.
package client
