package imports

import (
	"net/http"
	"net/http/pprof"
)

// A named import used to mount pprof on an explicit mux stays silent.
func debugMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	return mux
}
