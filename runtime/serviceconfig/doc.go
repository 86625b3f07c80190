// Package serviceconfig renders the gRPC service config (the JSON document
// of gRFC A2 / A6 that grpc.WithDefaultServiceConfig accepts) from resolved
// govern policies.
//
// The same function runs in two places: protoc-gen-govern calls it at
// generation time to emit the SvcServiceConfig constant, and the govern
// client runtime calls it at dial time for tables merged from several
// services. Keeping one implementation means a generated constant and a
// config built at run time can never disagree.
//
// What goes in:
//   - per method, the policy timeout as the call deadline;
//   - a native retryPolicy ONLY for methods that are retry safe (declared
//     IDEMPOTENT / NO_SIDE_EFFECTS, or deduplicated by idempotency key) and
//     whose retry is not adaptive: adaptive retries are done by the govern
//     client interceptor, and letting gRPC retry them as well would multiply
//     attempts;
//   - retryThrottling (gRFC A6 token bucket) whenever some method is retried
//     natively, so a failing backend is not hammered by every client.
//
// Disabled methods and methods without timeout or retry get no entry, so
// they keep gRPC's defaults.
package serviceconfig
