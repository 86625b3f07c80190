package admin

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"
)

// MaxProfileDuration caps ?seconds= of CPU profiles, execution traces and
// delta profiles: one request must not keep the profiler busy for hours.
// A longer request is answered 400 naming the cap.
const MaxProfileDuration = 60 * time.Second

// mountPprof mounts net/http/pprof's exported handlers on mux: the index
// and every named profile (with ?debug=, ?gc= and ?seconds= delta
// profiles), cmdline, the CPU profile, symbol lookup (GET and POST, as go
// tool pprof sends it) and the streamed execution trace.
//
// Importing net/http/pprof also registers the same handlers on
// http.DefaultServeMux in its init. That registration is inert in a
// governed binary: nothing serves DefaultServeMux (govern-lint's
// defaultservemux analyzer reports every way to serve it, and reports a
// blank import of net/http/pprof; this named import is there for the API).
// The handlers are used rather than rebuilt on runtime/pprof because they
// extend the connection's write deadline by the requested duration (so a
// profile as long as the server's WriteTimeout is delivered, not cut to
// EOF), stream the trace instead of buffering it, and keep the exact
// behaviour go tool pprof expects.
func mountPprof(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathPprof, pprof.Index) // the index and /debug/pprof/<profile>
	mux.HandleFunc("GET "+PathPprof+"cmdline", pprof.Cmdline)
	mux.Handle("GET "+PathPprof+"profile", capSeconds(http.HandlerFunc(pprof.Profile)))
	mux.HandleFunc("GET "+PathPprof+"symbol", pprof.Symbol)
	mux.HandleFunc("POST "+PathPprof+"symbol", pprof.Symbol)
	mux.Handle("GET "+PathPprof+"trace", capSeconds(http.HandlerFunc(pprof.Trace)))
}

// capSeconds answers 400 when ?seconds= exceeds MaxProfileDuration, and
// passes every other request on (pprof applies its own default and
// parsing to what is left).
func capSeconds(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if raw := r.URL.Query().Get("seconds"); raw != "" {
			sec, err := strconv.ParseFloat(raw, 64)
			if err != nil || sec <= 0 {
				http.Error(w, fmt.Sprintf("pprof: seconds=%q is not a positive number", raw), http.StatusBadRequest)
				return
			}
			if time.Duration(sec*float64(time.Second)) > MaxProfileDuration {
				http.Error(w, fmt.Sprintf("pprof: seconds=%s is longer than the admin handler's %v cap: ask for %.0f or less", raw, MaxProfileDuration, MaxProfileDuration.Seconds()), http.StatusBadRequest)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
