// Package admin is a service's operational HTTP surface: liveness,
// readiness, a JSON health summary, Prometheus metrics and, only when asked,
// pprof, all on one explicit http.ServeMux.
//
//	/livez              200 "ok" while the liveness checks pass
//	/readyz             200 when every readiness check passes, 503 otherwise
//	                    (and from the moment shutdown starts); ?verbose lists
//	                    each check as [+]name ok / [-]name failed: reason
//	/readyz/<check>     one check
//	/healthz            JSON {status, service, version, uptime_sec,
//	                    db_ping_ms, checks:{name:{status, duration_ms, error}}}
//	/debug/metrics      Prometheus exposition of the Gatherer passed in
//	/debug/pprof/...    only with WithPprof
//
// Why an explicit mux: routes registered on http.DefaultServeMux leak onto
// every server that serves it, which is how pprof ends up on a public port.
// The pprof endpoints are net/http/pprof's exported handlers mounted on this
// handler's own mux. Importing net/http/pprof also registers them on
// DefaultServeMux in its init; that is inert because nothing in a governed
// binary serves DefaultServeMux (govern-lint's defaultservemux analyzer
// reports every way to serve it, and reports blank imports of
// net/http/pprof, while this named import is for the API). Rebuilding them on
// runtime/pprof would lose what they do right: a CPU profile or trace
// extends the connection's write deadline by its duration, so a 60s profile
// on a server with a 60s WriteTimeout arrives whole instead of as an EOF;
// traces stream; /symbol and ?seconds= delta profiles work as go tool pprof
// expects. ?seconds= above MaxProfileDuration (60s) is refused with 400.
//
// The checks come from runtime/health, the same registry the grpc.health.v1
// server reports from, so HTTP and gRPC health never disagree. Probes are
// cheap: the registry caches each result briefly and shares in-flight runs.
package admin
