// Package health is the one registry of a service's health checks, and the
// grpc.health.v1 server that reports from it.
//
// A check is a plain function, func(ctx) error, registered under a name with
// a timeout. Checks are readiness checks by default (the service can take
// traffic only when they pass); WithLiveness makes a check count for liveness
// too, and AsDatabase marks the check whose latency is reported as the
// service's db_ping_ms.
//
// Why one registry: the admin endpoints (/readyz, /healthz) and the gRPC
// health service must never disagree. A "ghost" service whose HTTP probe says
// ready while its gRPC health says SERVING for the wrong reason (or the other
// way round) is the failure this package exists to prevent, so both read the
// same Checks.
//
// Why the cache: probes come from kubelets, load balancers and humans at
// once. Each check's result is cached for a short TTL (one second by
// default) and concurrent probes of a check share one run, so a probe storm
// costs the database one ping per TTL, not one per probe.
//
// Why Shutdown: on SIGTERM a replica must first stop being ready (so load
// balancers take it out of rotation), then drain, then close its listeners.
// Shutdown flips readiness to false at once and pushes NOT_SERVING to every
// grpc.health.v1 Watch stream; runtime/serve calls it before closing anything.
//
// GRPCServer builds on google.golang.org/grpc/health rather than
// re-implementing the protocol: that server already pushes status changes to
// Watch streams; this package decides the status from the checks.
package health
