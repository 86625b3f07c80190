// Package a holds the true positives of defaultservemux.
package a

import (
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/fcgi"
	"net/http/httptest"
)

func hello(w http.ResponseWriter, r *http.Request) {}

func registrations() {
	http.Handle("/x", http.HandlerFunc(hello)) // want `http.Handle registers on http.DefaultServeMux; use an explicit \*http.ServeMux: mux := http.NewServeMux\(\); mux.Handle\(pattern, handler\)`
	http.HandleFunc("/y", hello)               // want `http.HandleFunc registers on http.DefaultServeMux`
	register := http.HandleFunc                // want `http.HandleFunc registers on http.DefaultServeMux`
	register("/z", hello)
}

func serving(l net.Listener) {
	_ = http.ListenAndServe(":8080", nil)                      // want `http.ListenAndServe with a nil handler serves http.DefaultServeMux; use an explicit \*http.ServeMux`
	_ = http.ListenAndServeTLS(":8443", "c.pem", "k.pem", nil) // want `http.ListenAndServeTLS with a nil handler`
	_ = http.Serve(l, nil)                                     // want `http.Serve with a nil handler`
	_ = http.ServeTLS(l, nil, "c.pem", "k.pem")                // want `http.ServeTLS with a nil handler`
	_ = fcgi.Serve(l, nil)                                     // want `fcgi.Serve with a nil handler`
	_ = cgi.Serve(nil)                                         // want `cgi.Serve with a nil handler`
}

func references() http.Handler {
	mux := http.DefaultServeMux // want `reference to http.DefaultServeMux, which any package in the binary can register routes on; use an explicit \*http.ServeMux`
	_ = mux
	return http.DefaultServeMux // want `reference to http.DefaultServeMux`
}

func servers() []*http.Server {
	noHandler := &http.Server{Addr: ":8080"}               // want `http.Server without a Handler serves http.DefaultServeMux; use an explicit \*http.ServeMux: mux := http.NewServeMux\(\) and set Handler: mux`
	nilHandler := http.Server{Addr: ":8081", Handler: nil} // want `http.Server with Handler: nil serves http.DefaultServeMux`
	empty := &http.Server{}                                // want `http.Server without a Handler`
	var cleared = &http.Server{Addr: ":8082", Handler: http.NotFoundHandler()}
	cleared.Handler = nil // want `setting http.Server.Handler to nil serves http.DefaultServeMux`
	_ = nilHandler
	return []*http.Server{
		noHandler,
		empty,
		cleared,
		{Addr: ":8083"}, // want `http.Server without a Handler`
	}
}

// newServer returns a server without a handler: nothing in this function
// shows that one is ever set, so it is reported.
func newServer(addr string) *http.Server {
	return &http.Server{Addr: addr} // want `http.Server without a Handler`
}

// handlerSetOnAnotherVariable does not complete srv itself.
func handlerSetOnAnotherVariable() {
	srv := &http.Server{Addr: ":8080"} // want `http.Server without a Handler`
	other := &http.Server{Addr: ":8081", Handler: http.NotFoundHandler()}
	other.Handler = http.NotFoundHandler()
	_ = srv.ListenAndServe()
}

func testServers() {
	_ = httptest.NewServer(nil)          // want `httptest.NewServer with a nil handler serves http.DefaultServeMux`
	_ = httptest.NewTLSServer(nil)       // want `httptest.NewTLSServer with a nil handler`
	_ = httptest.NewUnstartedServer(nil) // want `httptest.NewUnstartedServer with a nil handler`
	_ = httptest.NewServer(http.NewServeMux())
}
