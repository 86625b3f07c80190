// Package redislimit keeps the DISTRIBUTED rate limits of runtime/ratelimit
// in Redis or a Redis Cluster, so every replica of a service draws on one
// budget per method.
//
// Admission is GCRA (generic cell rate algorithm) in one Lua script over one
// key holding the theoretical arrival time on the Redis server clock: one
// round trip per call, replicas with skewed clocks agree, and no background
// refill runs. The script touches only its key, so on a Redis Cluster it
// runs on the primary of that key's slot (go-redis follows MOVED and ASK);
// there are no multi-key operations and so no CROSSSLOT errors.
//
// It is its own package so that a binary that counts limits locally does not
// link go-redis: runtime/ratelimit only knows the ratelimit.Store interface.
package redislimit
