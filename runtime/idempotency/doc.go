// Package idempotency makes keyed gRPC calls run at most once: a retried or
// double-submitted call with the same idempotency key gets the original
// response instead of running the handler again.
//
// It exists because of the seed's duplicate-order incident: gRPC retries
// without idempotency created duplicate orders, and the first fix (EXISTS,
// then SETEX) still raced, since two replicas could both see "absent"
// before either wrote. Here a claim is a single atomic operation (Redis
// `SET key claim NX PX lease GET`, or a locked map in memory), so of any
// number of concurrent calls on any number of replicas exactly one runs.
//
// # Server
//
// NewServer takes the generated policy table and a Store. Its
// UnaryServerInterceptor, placed after the timeout interceptor, handles the
// methods whose policy has an Idempotency section:
//
//   - The key is the `idempotency-key` metadata (HTTP `Idempotency-Key`), an
//     RFC 8941 string or a bare token (ParseKey), else the key the generated
//     extractor derives from the policy's key_fields. A required key that is
//     absent is INVALID_ARGUMENT IDEMPOTENCY_KEY_MISSING; a malformed one is
//     INVALID_ARGUMENT IDEMPOTENCY_KEY_INVALID; an optional absent key just
//     runs the handler.
//   - The store key is SHA-256(scope, full method, key) (DeriveKey); the
//     scope comes from WithScope (tenant, subject). The raw key is never
//     stored.
//   - The request's fingerprint is the SHA-256 of its deterministic protobuf
//     encoding.
//   - The first call claims the key for the policy's lease and runs; its
//     handler's deadline is cut to the lease less a margin, so a slow
//     handler cannot outlive its claim. A deterministic result (success or
//     error) is stored for the policy's TTL with its status and fingerprint.
//     A transient error (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
//     ABORTED, CANCELLED) or a panic releases the claim so a retry runs.
//   - A call whose key is held by a running call gets ABORTED
//     IDEMPOTENCY_IN_FLIGHT with a RetryInfo delay (and the
//     grpc-retry-pushback-ms trailer); by a call with another fingerprint,
//     FAILED_PRECONDITION IDEMPOTENCY_KEY_REUSED; by a finished call, the
//     stored response or status, replayed.
//   - If the store cannot be reached the call fails closed: UNAVAILABLE
//     IDEMPOTENCY_STORE_UNAVAILABLE, handler not run. WithFailOpen is the
//     explicit opt-out.
//   - If the owner crashes, its claim expires with the lease and the next
//     retry runs.
//   - A claim whose outcome is unknown (its answer lost to a timeout or to
//     the caller giving up, while the store may have written it) is
//     released by its owner: at once, then from a timer until the store
//     answers or the lease ends. The handler did not run, so the retry must
//     run too, not wait out the lease behind a claim nobody holds. Release
//     by owner was chosen over a short lease extended by the running
//     handler because it costs nothing while handlers run and never lets a
//     running handler's claim expire under it (which would run it twice);
//     its limit is a replica cut off from the store for the whole lease,
//     which blocks the key like a crashed owner.
//
// Streaming methods are not deduplicated: protoc-gen-govern rejects an
// idempotency policy on client- and bidi-streaming methods, and
// server-streaming methods pass through (a stream cannot be replayed from
// one stored message).
//
// # Client
//
// UnaryClientInterceptor attaches one UUIDv7 key per logical call to the
// methods that need one, so every native gRPC retry of that call carries the
// same key.
//
// # Stores
//
// MemoryStore (bounded, expiring, no goroutines) serves one replica;
// redisstore.Store (package runtime/idempotency/redisstore: go-redis v9,
// Redis >= 7 or a Redis Cluster) serves a fleet, and lives in its own
// package so a binary without Redis does not link go-redis. A first call costs
// two store round trips (claim, finish), a replay or rejection one. The
// store is ours rather than a library's because the contract (one-round-trip
// claim returning the holder, owner-checked finish) is what prevents
// duplicates, and no maintained Go library provides it over go-redis.
package idempotency
