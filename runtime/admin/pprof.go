package admin

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"time"
)

// maxProfileDuration caps ?seconds= of CPU profiles and traces, so one
// request cannot profile a process for hours.
const maxProfileDuration = 60 * time.Second

// mountPprof registers the pprof endpoints on mux. They are built on
// runtime/pprof and runtime/trace because importing net/http/pprof would
// register the same handlers on http.DefaultServeMux as a side effect.
// The paths and parameters match net/http/pprof, so `go tool pprof
// http://host:port/debug/pprof/profile?seconds=10` and .../heap work.
// /debug/pprof/symbol is not served: profiles written by Go 1.9 and later
// carry their symbols.
func mountPprof(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathPprof+"{$}", pprofIndex)
	mux.HandleFunc("GET "+PathPprof+"cmdline", pprofCmdline)
	mux.HandleFunc("GET "+PathPprof+"profile", pprofCPU)
	mux.HandleFunc("GET "+PathPprof+"trace", pprofTrace)
	mux.HandleFunc("GET "+PathPprof+"{profile}", pprofNamed)
}

func pprofIndex(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	b.WriteString("<html><head><title>/debug/pprof/</title></head><body><p>profiles:</p><table>\n")
	for _, p := range pprof.Profiles() {
		name := html.EscapeString(p.Name())
		fmt.Fprintf(&b, "<tr><td>%d</td><td><a href=\"%s?debug=1\">%s</a></td></tr>\n", p.Count(), name, name)
	}
	b.WriteString("<tr><td></td><td><a href=\"profile?seconds=30\">profile</a> (CPU, 30s)</td></tr>\n")
	b.WriteString("<tr><td></td><td><a href=\"trace?seconds=1\">trace</a> (1s)</td></tr>\n")
	b.WriteString("<tr><td></td><td><a href=\"cmdline\">cmdline</a></td></tr>\n")
	b.WriteString("</table></body></html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

func pprofCmdline(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(strings.Join(os.Args, "\x00")))
}

// profileSeconds parses ?seconds=, defaulting to def and capped.
func profileSeconds(r *http.Request, def time.Duration) (time.Duration, error) {
	raw := r.URL.Query().Get("seconds")
	if raw == "" {
		return def, nil
	}
	sec, err := strconv.ParseFloat(raw, 64)
	if err != nil || sec <= 0 {
		return 0, fmt.Errorf("pprof: seconds=%q is not a positive number", raw)
	}
	return min(time.Duration(sec*float64(time.Second)), maxProfileDuration), nil
}

// sleepOrDone waits d or until the client goes away.
func sleepOrDone(r *http.Request, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.Context().Done():
	}
}

func pprofCPU(w http.ResponseWriter, r *http.Request) {
	d, err := profileSeconds(r, 30*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Buffer so a failure to start can still be reported as an HTTP error.
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		http.Error(w, "pprof: could not start the CPU profile (another one is probably running): "+err.Error(), http.StatusInternalServerError)
		return
	}
	sleepOrDone(r, d)
	pprof.StopCPUProfile()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="profile"`)
	_, _ = w.Write(buf.Bytes())
}

func pprofTrace(w http.ResponseWriter, r *http.Request) {
	d, err := profileSeconds(r, time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		http.Error(w, "pprof: could not start the execution trace (another one is probably running): "+err.Error(), http.StatusInternalServerError)
		return
	}
	sleepOrDone(r, d)
	trace.Stop()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="trace"`)
	_, _ = w.Write(buf.Bytes())
}

func pprofNamed(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("profile")
	p := pprof.Lookup(name)
	if p == nil {
		http.Error(w, fmt.Sprintf("pprof: unknown profile %q; see %s for the list", name, PathPprof), http.StatusNotFound)
		return
	}
	debug, _ := strconv.Atoi(r.URL.Query().Get("debug"))
	if name == "heap" && r.URL.Query().Get("gc") != "" {
		runtime.GC()
	}
	var buf bytes.Buffer
	if err := p.WriteTo(&buf, debug); err != nil {
		http.Error(w, "pprof: writing profile "+name+" failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if debug > 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	}
	_, _ = w.Write(buf.Bytes())
}
