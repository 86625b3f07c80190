// Package serve runs a governed service's listeners — gRPC, the HTTP
// gateway, the admin endpoints — and shuts them down in the order that loses
// no request.
//
// On SIGTERM (SignalContext) or when the context ends, Run
//
//  1. flips readiness to false (health.Checks.Shutdown): /readyz answers
//     503 and every grpc.health.v1 Watch stream is told NOT_SERVING, while
//     all listeners still accept connections;
//  2. waits the drain delay, so load balancers and kube-proxy observe the
//     failed readiness and stop sending new connections;
//  3. closes the listeners and drains: http.Server.Shutdown waits for
//     in-flight requests, grpc.Server.GracefulStop for in-flight RPCs, both
//     bounded by the shutdown timeout, after which connections are cut.
//
// Closing listeners first (what a bare http.Server.Shutdown on SIGTERM does)
// turns a rolling deploy into connection-refused errors for every client the
// balancer still routes to the old replica; this ordering is why the package
// exists.
//
// NewHTTPServer builds the http.Server every listener should use: read
// header, read, write and idle timeouts all set (a server without them can be
// held open by slow clients forever), and a handler that must be explicit —
// a nil Handler would serve http.DefaultServeMux.
package serve
