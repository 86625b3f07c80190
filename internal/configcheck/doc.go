// Package configcheck validates a service's deployment config (config.yaml)
// before it ships: the checks behind `govscaffold validate-config`.
//
// Why a checker and not a schema: the rules that bite in production are
// relations between values, not shapes. A timeout longer than 1.5 x the
// upstream's P99 turns one slow dependency into a queue of stuck callers;
// 100% trace sampling in production costs more than the service; a missing
// region label makes every dashboard lie. Each finding carries the line it
// is about (read from a yaml.Node tree, so line numbers are exact) and a
// message that names the fix.
//
// The file format:
//
//	service: payment          # required metric label
//	env: production           # required; production/prod enforce the sampling cap
//	region: us-west-2         # required; must be in the allowed set
//	sampling: 0.01            # trace sampling ratio in [0,1]; <= 0.01 in production
//	listen: {grpc: ":9090", http: ":8080", admin: ":9091"}
//	upstreams:
//	  - name: ledger
//	    p99: 120ms            # measured P99 latency of the upstream
//	    timeout: 150ms        # must be <= 1.5 x p99
//
// Errors always fail the check. Warnings (unknown keys, an upstream timeout
// with no p99 to compare to, a non-standard env name) fail it only in strict
// mode, so CI can be strict while a developer iterates.
package configcheck
