package a

import (
	"net"
	"net/http"
	"time"
)

// Explicit muxes and non-nil handlers stay silent.
func explicitMux(l net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/x", http.HandlerFunc(hello))
	mux.HandleFunc("/y", hello)
	if err := http.Serve(l, mux); err != nil {
		return err
	}
	return http.ListenAndServe(":8080", mux)
}

// A Server whose Handler is set after construction, in the same function,
// is complete before it serves: not reported (see the package doc).
func handlerSetAfterConstruction() error {
	srv := &http.Server{Addr: ":8080", ReadHeaderTimeout: time.Second}
	srv.Handler = http.NewServeMux()
	return srv.ListenAndServe()
}

func handlerSetAfterVarConstruction() error {
	var srv = http.Server{Addr: ":8080"}
	srv.Handler = http.NewServeMux()
	return srv.ListenAndServe()
}

func serverWithHandler() *http.Server {
	return &http.Server{Addr: ":8080", Handler: http.NewServeMux()}
}

// A non-Server field named Handler is not the http.Server's.
type config struct{ Handler http.Handler }

func otherHandlerField() config {
	c := config{}
	c.Handler = nil
	return c
}

// Methods named Handle on an explicit mux are fine.
func muxMethods(mux *http.ServeMux) {
	mux.Handle("/a", http.NotFoundHandler())
	mux.HandleFunc("/b", hello)
}
