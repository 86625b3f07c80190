// Package consul is the Consul backend of runtime/discovery, on the
// official client (github.com/hashicorp/consul/api): agent service
// registration with a TTL or gRPC health check, and resolution by
// health-filtered blocking queries (Health().Service with passing=1), one
// datacenter per Registry (WithDatacenter sets the query's dc).
//
// Region and colour travel in the service's Meta ("region", "colour"); an
// instance without a region Meta is placed in its node's datacenter.
// Register also writes Meta["govern_registered_at"], from which every
// resolver observes the cross-datacenter propagation lag
// (govern_discovery_consul_propagation_seconds{dc}: the time from
// registration to the first answer that lists the instance, as clocks
// allow).
//
// With a TTL check (the default) the Registration passes the check every
// TTL/3 and registers again when the agent no longer knows it (an agent
// restart forgets services registered over its API). With WithGRPCCheck the
// agent probes the instance's grpc.health.v1 itself and nothing is sent.
//
// The Consul server is not open-source licensed (BUSL 1.1) and is not
// installed or tested here: the tests run this package against an
// in-process fake of Consul's documented HTTP API (agent registration,
// TTL check updates, /v1/health/service with blocking-query index and wait),
// the API this package speaks through the official client.
//
// This package links the Consul client; binaries that do not import it do
// not.
package consul
