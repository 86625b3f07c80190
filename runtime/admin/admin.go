package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/govkit/govern/runtime/health"
)

// Paths served by the Handler.
const (
	PathLivez   = "/livez"
	PathReadyz  = "/readyz"
	PathHealthz = "/healthz"
	PathMetrics = "/debug/metrics"
	PathPprof   = "/debug/pprof/"
)

// Option configures a Handler.
type Option func(*Handler)

// WithService sets the service name reported by /healthz.
func WithService(name string) Option { return func(h *Handler) { h.service = name } }

// WithVersion sets the version reported by /healthz (a build tag or commit).
func WithVersion(version string) Option { return func(h *Handler) { h.version = version } }

// WithChecks sets the health checks behind /livez, /readyz and /healthz.
// Without it the handler uses an empty registry: always alive and ready,
// which is only right for a process with no dependencies and no graceful
// shutdown, so pass the registry runtime/serve drains.
func WithChecks(checks *health.Checks) Option { return func(h *Handler) { h.checks = checks } }

// WithGatherer serves the metrics of g on /debug/metrics. Without it the
// path is not mounted. Pass the same registry the runtime's collectors were
// registered on (the *prometheus.Registry behind governance's Registerer).
func WithGatherer(g prometheus.Gatherer) Option { return func(h *Handler) { h.gatherer = g } }

// WithPprof mounts the pprof endpoints under /debug/pprof/. Off by default:
// profiles expose internals and cost CPU, so turn them on deliberately, and
// only on an admin port that is not reachable from outside.
func WithPprof() Option { return func(h *Handler) { h.pprof = true } }

// WithStartTime sets the process start that /healthz's uptime_sec counts
// from; the default is when New was called.
func WithStartTime(t time.Time) Option { return func(h *Handler) { h.started = t } }

// WithProbeTimeout bounds how long one probe waits for the checks (each
// check also has its own timeout). Default 5s.
func WithProbeTimeout(d time.Duration) Option {
	return func(h *Handler) {
		if d > 0 {
			h.probeTimeout = d
		}
	}
}

// Handler is the admin http.Handler. Create it with New; it is safe for
// concurrent use.
type Handler struct {
	service      string
	version      string
	checks       *health.Checks
	gatherer     prometheus.Gatherer
	pprof        bool
	started      time.Time
	probeTimeout time.Duration
	now          func() time.Time

	mux *http.ServeMux
}

// New returns the admin handler. Mount it as the Handler of its own
// http.Server (runtime/serve), or under its paths on a larger explicit mux.
func New(opts ...Option) *Handler {
	h := &Handler{
		started:      time.Now(),
		probeTimeout: 5 * time.Second,
		now:          time.Now,
	}
	for _, opt := range opts {
		opt(h)
	}
	if h.checks == nil {
		h.checks = health.New()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathLivez, h.livez)
	mux.HandleFunc("GET "+PathLivez+"/{check}", h.livezCheck)
	mux.HandleFunc("GET "+PathReadyz, h.readyz)
	mux.HandleFunc("GET "+PathReadyz+"/{check}", h.readyzCheck)
	mux.HandleFunc("GET "+PathHealthz, h.healthz)
	if h.gatherer != nil {
		// OpenMetrics when the scraper asks for it (Prometheus does by
		// default): only that format carries exemplars, such as the
		// trace_id of the call that changed a breaker's state.
		mux.Handle("GET "+PathMetrics, promhttp.HandlerFor(h.gatherer, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	}
	if h.pprof {
		mountPprof(mux)
	}
	h.mux = mux
	return h
}

// ServeHTTP serves the admin endpoints.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Paths returns the path patterns this handler serves, for mounting it on a
// shared mux next to other handlers.
func (h *Handler) Paths() []string {
	paths := []string{PathLivez, PathLivez + "/", PathReadyz, PathReadyz + "/", PathHealthz}
	if h.gatherer != nil {
		paths = append(paths, PathMetrics)
	}
	if h.pprof {
		paths = append(paths, PathPprof)
	}
	return paths
}

// Mount registers the handler's paths on mux, so the admin endpoints can
// share one explicit mux (and port) with the gateway.
func (h *Handler) Mount(mux *http.ServeMux) {
	for _, p := range h.Paths() {
		mux.Handle(p, h)
	}
}

func (h *Handler) probeContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), h.probeTimeout)
}

func (h *Handler) livez(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.probeContext(r)
	defer cancel()
	writeProbe(w, r, "livez", h.checks.Liveness(ctx))
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.probeContext(r)
	defer cancel()
	writeProbe(w, r, "readyz", h.checks.Readiness(ctx))
}

func (h *Handler) livezCheck(w http.ResponseWriter, r *http.Request) {
	h.singleCheck(w, r, "livez", true)
}

func (h *Handler) readyzCheck(w http.ResponseWriter, r *http.Request) {
	h.singleCheck(w, r, "readyz", false)
}

func (h *Handler) singleCheck(w http.ResponseWriter, r *http.Request, probe string, liveness bool) {
	name := r.PathValue("check")
	if !liveness && name == "shutdown" {
		writeProbe(w, r, probe, health.Report{OK: !h.checks.ShuttingDown(), ShuttingDown: h.checks.ShuttingDown()})
		return
	}
	ctx, cancel := h.probeContext(r)
	defer cancel()
	res, found := h.checks.Check(ctx, name)
	if !found || (liveness && !res.Liveness) {
		writeText(w, http.StatusNotFound, fmt.Sprintf("%s: no check named %q; known: %s\n", probe, name, strings.Join(h.checks.Names(), ", ")))
		return
	}
	writeProbe(w, r, probe, health.Report{OK: res.OK(), Results: []health.Result{res}})
}

// writeProbe writes a Kubernetes-style probe answer: "ok" or the failures,
// every check with ?verbose.
func writeProbe(w http.ResponseWriter, r *http.Request, probe string, rep health.Report) {
	_, verbose := r.URL.Query()["verbose"]
	code := http.StatusOK
	if !rep.OK {
		code = http.StatusServiceUnavailable
	}
	if !verbose && rep.OK {
		writeText(w, code, "ok\n")
		return
	}
	var b strings.Builder
	if rep.ShuttingDown {
		b.WriteString("[-]shutdown failed: shutting down, draining connections\n")
	}
	for _, res := range rep.Results {
		switch {
		case res.OK() && verbose:
			fmt.Fprintf(&b, "[+]%s ok\n", res.Name)
		case !res.OK():
			fmt.Fprintf(&b, "[-]%s failed: %v\n", res.Name, res.Err)
		}
	}
	if rep.OK {
		fmt.Fprintf(&b, "%s check passed\n", probe)
	} else {
		fmt.Fprintf(&b, "%s check failed\n", probe)
	}
	writeText(w, code, b.String())
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

// Summary is the /healthz JSON document.
type Summary struct {
	// Status is "ok", "fail" (a check fails) or "shutting_down".
	Status  string `json:"status"`
	Service string `json:"service"`
	Version string `json:"version"`
	// UptimeSec is the seconds since the process started, millisecond
	// precision.
	UptimeSec float64 `json:"uptime_sec"`
	// DBPingMS is the measured duration of the check registered with
	// health.AsDatabase, in milliseconds; null when there is none.
	DBPingMS *float64 `json:"db_ping_ms"`
	// Checks holds every registered check by name.
	Checks map[string]CheckSummary `json:"checks"`
}

// CheckSummary is one check in the /healthz document.
type CheckSummary struct {
	Status     string  `json:"status"`
	DurationMS float64 `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
	Liveness   bool    `json:"liveness,omitempty"`
	Database   bool    `json:"database,omitempty"`
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.probeContext(r)
	defer cancel()
	rep := h.checks.All(ctx)
	sum := Summary{
		Status:    "ok",
		Service:   h.service,
		Version:   h.version,
		UptimeSec: round3(h.now().Sub(h.started).Seconds()),
		Checks:    make(map[string]CheckSummary, len(rep.Results)),
	}
	switch {
	case rep.ShuttingDown:
		sum.Status = "shutting_down"
	case !rep.OK:
		sum.Status = "fail"
	}
	for _, res := range rep.Results {
		cs := CheckSummary{
			Status:     string(res.Status),
			DurationMS: millis(res.Duration),
			Liveness:   res.Liveness,
			Database:   res.Database,
		}
		if res.Err != nil {
			cs.Error = res.Err.Error()
		}
		sum.Checks[res.Name] = cs
	}
	if db, ok := rep.Database(); ok {
		ms := millis(db.Duration)
		sum.DBPingMS = &ms
	}
	code := http.StatusOK
	if sum.Status != "ok" {
		code = http.StatusServiceUnavailable
	}
	body, err := json.Marshal(sum)
	if err != nil { // unreachable: Summary has only plain fields
		http.Error(w, "healthz: encoding the summary failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

func millis(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
