// Package defaultservemux defines an Analyzer that reports every way a
// program registers handlers on, or serves, net/http's package-level
// DefaultServeMux.
//
// # Analyzer defaultservemux
//
// defaultservemux: report use of http.DefaultServeMux
//
// http.DefaultServeMux is global state: any package in the binary can add
// routes to it (net/http/pprof, expvar and golang.org/x/net/trace do so in
// their init functions), and whatever serves it exposes all of them. A
// service that serves it on its public port leaks debug routes to the
// mesh; one that registers on it but serves another mux loses routes.
// The analyzer reports, using type information so that import aliases and
// dot imports are found and unrelated packages named "http" are not:
//
//   - registrations on the default mux: http.Handle, http.HandleFunc
//     (called or used as a function value);
//   - serving it: http.ListenAndServe, ListenAndServeTLS, Serve and
//     ServeTLS with a nil handler, fcgi.Serve and cgi.Serve with nil,
//     httptest.NewServer, NewTLSServer and NewUnstartedServer with nil, an
//     http.Server composite literal with no Handler field or Handler: nil,
//     and an assignment of nil to a Server's Handler field;
//   - any other reference to http.DefaultServeMux;
//   - blank imports of packages whose init registers routes on it:
//     net/http/pprof (/debug/pprof/...), expvar (/debug/vars) and
//     golang.org/x/net/trace (/debug/requests, /debug/events). The message
//     says how to mount them on an explicit mux instead. A named import is
//     not reported: it is there for the package's API (pprof.Index mounted
//     on an explicit mux, as the message recommends), and its registration
//     is harmless as long as nothing serves DefaultServeMux, which the
//     other checks ensure.
//
// An http.Server literal without a Handler is not reported when the same
// function later assigns a non-nil Handler to the variable that holds it
// (srv := &http.Server{Addr: a}; srv.Handler = mux): the server is complete
// before it can serve. A literal that leaves the function without a
// Handler (returned, stored, passed) is reported, because nothing local
// shows that a handler is ever set.
//
// Every message names the fix: use an explicit *http.ServeMux,
// mux := http.NewServeMux(), and pass it to the server.
package defaultservemux
