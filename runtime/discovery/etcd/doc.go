// Package etcd is the etcd backend of runtime/discovery, on the official
// client (go.etcd.io/etcd/client/v3): registration under a lease kept alive,
// and resolution by watch.
//
// Layout: one key per instance, <prefix>/<service>/<addr>, whose value is
// the JSON of the endpoint (addr, region, colour, attributes), attached to
// the instance's lease. The default prefix is /govern/services.
//
// Why the registration heals itself: a lease is the instance's promise to
// be alive, and it lapses whenever the keep-alive does not reach the server
// within the TTL — a stop-the-world pause, a partition, a server restart
// that outlasts the TTL. The instance is still alive, but the registry has
// deleted its key: the field guide's "ghost deregistration". The client
// closes the keep-alive channel at the latest one TTL after the last
// successful keep-alive; Registration notices that at once, grants a new
// lease, writes the key again, counts it (govern_registration_lease_lost_total)
// and keeps retrying with a short backoff while etcd cannot be reached. A
// watchdog reads the key every TTL/3 and writes it again when the registry
// no longer holds what should be there (a key deleted by hand, a lease
// revoked by an operator), so the instance reappears within one TTL of
// vanishing once etcd answers.
//
// Resolution reads the prefix once and then follows a watch from the read
// revision, so no change between the read and the watch is lost; a watch
// error (compaction, lost leader: the client is created WithRequireLeader)
// ends the watch and the resolver reads again, keeping its last endpoints
// meanwhile.
//
// This package links the etcd client; binaries that do not import it do not.
package etcd
