// Package redisstore is the idempotency.Store of a fleet: every replica of a
// service pointed at the same Redis (>= 7.0) or Redis Cluster sees every
// idempotency key, so of any number of duplicate calls on any number of
// replicas exactly one runs.
//
// A claim is one atomic command (SET NX PX GET) and Finish and Release are
// owner-checked Lua scripts, each on one key: on a Redis Cluster every
// operation runs on the primary of its key's slot, go-redis follows MOVED
// and ASK, and nothing can fail with CROSSSLOT. Each is safe to send again:
// go-redis resends a command whose connection broke after Redis ran it, and
// a resent claim finds its own claim (and counts it as claimed), a resent
// result its own result.
//
// Redis replicates asynchronously: a claim the primary acknowledged and
// then lost in a failover lets a retry on the promoted replica run the
// handler again. WithReplicaAcks closes that window by waiting (Redis WAIT,
// bounded) until replicas hold each claim and result; a claim they do not
// acknowledge in time fails closed. docs/redis-cluster.md states what each
// mode guarantees.
//
// It is its own package so that a binary that keeps keys in memory does not
// link go-redis: runtime/idempotency only knows the Store interface.
package redisstore
