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
// For the same reason this package does not import net/http/pprof (its init
// registers on DefaultServeMux); its pprof handlers are built on
// runtime/pprof and runtime/trace directly and exist only on this handler.
//
// The checks come from runtime/health, the same registry the grpc.health.v1
// server reports from, so HTTP and gRPC health never disagree. Probes are
// cheap: the registry caches each result briefly and shares in-flight runs.
package admin
