// Package ratelimit admits or rejects the calls of one gRPC method according
// to its policy.RateLimit, and is what runtime/governance puts in the chain
// between the circuit breaker and observability.
//
// LOCAL limits count per replica with golang.org/x/time/rate, the
// well-kept token bucket: no goroutine, no allocation when a call is
// admitted. DISTRIBUTED limits count across replicas in a shared Store
// (runtime/ratelimit/redislimit: GCRA in one Redis round trip, on Redis or
// a Redis Cluster). The Store is an interface so that a binary without
// distributed limits does not link a Redis client. When the store errors or
// is slower than the store timeout (50 ms), the call is counted by the
// local limiter instead (the limit then holds per replica), and so are the
// method's calls of the next second before the store is tried again: a
// governance layer must not turn a Redis outage into a service outage, nor
// add a timeout to every call while Redis is down. Only the store failing
// trips this fallback: a caller whose own context ends while the store is
// asked gets CANCELLED or DEADLINE_EXCEEDED and leaves the store in use for
// everyone else.
//
// A rejected call gets RESOURCE_EXHAUSTED with ErrorInfo reason
// RATE_LIMITED and a RetryInfo delay telling the caller when a call would
// be admitted; the HTTP gateway maps it to 429.
package ratelimit
