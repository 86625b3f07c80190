// Package dotimport reaches net/http through an alias and a dot import:
// type information still finds every use.
package dotimport

import (
	. "net/http"
	stdhttp "net/http"
)

func viaAlias() {
	stdhttp.HandleFunc("/a", func(stdhttp.ResponseWriter, *stdhttp.Request) {}) // want `http.HandleFunc registers on http.DefaultServeMux`
	_ = stdhttp.ListenAndServe(":8080", nil)                                    // want `http.ListenAndServe with a nil handler`
	_ = &stdhttp.Server{}                                                       // want `http.Server without a Handler`
}

func viaDotImport() {
	Handle("/b", NotFoundHandler())  // want `http.Handle registers on http.DefaultServeMux`
	_ = ListenAndServe(":8080", nil) // want `http.ListenAndServe with a nil handler`
	_ = DefaultServeMux              // want `reference to http.DefaultServeMux`
	_ = Server{Addr: ":1"}           // want `http.Server without a Handler`
	mux := NewServeMux()
	_ = ListenAndServe(":8081", mux)
}
