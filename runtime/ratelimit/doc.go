// Package ratelimit admits or rejects the calls of one gRPC method according
// to its policy.RateLimit, and is what runtime/governance puts in the chain
// between the circuit breaker and observability.
//
// LOCAL limits count per replica with golang.org/x/time/rate, the
// well-kept token bucket: no goroutine, no allocation when a call is
// admitted. DISTRIBUTED limits count across replicas in Redis with GCRA
// (generic cell rate algorithm): one Lua script, one round trip, one key per
// method holding the theoretical arrival time on the Redis server clock, so
// replicas with skewed clocks agree and no background refill runs. When
// Redis errors or is slower than the Redis timeout (50 ms), the call is
// counted by the local limiter instead (the limit then holds per replica),
// and so are the method's calls of the next second before Redis is tried
// again: a governance layer must not turn a Redis outage into a service
// outage, nor add a Redis timeout to every call while Redis is down.
//
// A rejected call gets RESOURCE_EXHAUSTED with ErrorInfo reason
// RATE_LIMITED and a RetryInfo delay telling the caller when a call would
// be admitted; the HTTP gateway maps it to 429.
package ratelimit
