// Package imports pulls in packages whose init registers on DefaultServeMux.
package imports

import (
	_ "expvar"                 // want `import of expvar registers /debug/vars on http.DefaultServeMux in its init; use an explicit \*http.ServeMux: mux := http.NewServeMux\(\) and mount them on it instead: mux.Handle\("/debug/vars", expvar.Handler\(\)\)`
	_ "golang.org/x/net/trace" // want `import of golang.org/x/net/trace registers /debug/requests and /debug/events on http.DefaultServeMux`
	_ "net/http/pprof"         // want `import of net/http/pprof registers /debug/pprof/ .* mux.HandleFunc\("/debug/pprof/", pprof.Index\)`
)
