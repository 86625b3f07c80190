// Package discovery lets a client dial a service by name
// (govern:///inventory) and reach the healthy instances of its own region
// and of the colour a call asks for, from whatever registry the fleet runs.
//
// Three parts, each replaceable:
//
//   - a Registry (one subpackage per backend: etcd, consul, dns, and the
//     MemoryRegistry here) answers "which endpoints does service X have",
//     each Endpoint carrying its address, region, colour and metadata;
//   - the resolver (Builder, scheme "govern", passed to grpc.NewClient with
//     grpc.WithResolvers, so nothing is registered globally) follows the
//     registry, probes every endpoint through grpc.health.v1 (5 s interval,
//     800 ms timeout by default, WithProbe) and hands the balancer the
//     endpoints not known to be unhealthy, with region and colour as address
//     attributes;
//   - the balancer (BalancerName, selected by the service config that
//     Builder.DialOptions or governance sets) sends a call to the colour it
//     asks for (WithRoute, PreferColour, or the x-canary header), falling
//     back to the default colour, and within it to the caller's region,
//     failing over to the other regions only when that region has no ready
//     endpoint (or fewer than WithMinLocalFraction of its known ones).
//
// Why the resolver keeps the last known endpoints: a registry outage is not
// a fleet outage. When the registry fails, the resolver logs it, counts it
// (govern_discovery_registry_errors_total), raises govern_discovery_stale and
// keeps routing to what it last knew; it never resolves to an empty set
// because of an error. Only a registry that positively answers "no
// instances" empties it.
//
// Why the probe beside the registry: a registry lists what registered, not
// what serves. An instance can hold its lease (or pass its TTL check) while
// its gRPC server browns out; the probe drops it from the balancer until it
// answers SERVING again. When every endpoint fails its probe the resolver
// uses them all rather than none, so a probe outage cannot empty a client.
//
// Why a picker of our own on grpc-go's base balancer: grpc-go's round_robin
// knows neither regions nor colours. The picker precomputes, whenever the
// set of ready connections changes, where each (colour, region) preference
// goes, so a pick is a context lookup, two short scans and an atomic add:
// 0 allocations, within a few tens of nanoseconds of round_robin
// (docs/discovery.md has the numbers).
//
// Registration, the other side, is Lifecycle over a Registrar: register on
// start, retry while the registry is down (reporting not ready for
// discovery), register again when a registration is lost, and deregister
// on shutdown.
package discovery
