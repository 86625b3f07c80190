package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/govkit/govern/runtime/health"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, h http.Handler, path string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body), rec.Header()
}

// switchable is a check whose outcome the test controls.
type switchable struct{ failing atomic.Bool }

func (s *switchable) check(context.Context) error {
	if s.failing.Load() {
		return errors.New("connection refused")
	}
	return nil
}

func newChecks(t *testing.T) (*health.Checks, *switchable, *switchable) {
	t.Helper()
	checks := health.New(health.WithCacheTTL(0))
	db, cache := &switchable{}, &switchable{}
	if err := checks.Register("postgres", func(ctx context.Context) error {
		time.Sleep(2 * time.Millisecond) // a measurable ping
		return db.check(ctx)
	}, health.AsDatabase()); err != nil {
		t.Fatal(err)
	}
	if err := checks.Register("redis", cache.check); err != nil {
		t.Fatal(err)
	}
	return checks, db, cache
}

func TestProbes(t *testing.T) {
	checks, db, cache := newChecks(t)
	h := New(WithChecks(checks), WithService("order"))

	tests := []struct {
		name       string
		setup      func()
		path       string
		wantCode   int
		wantBody   []string
		rejectBody []string
	}{
		{name: "livez ok", path: "/livez", wantCode: 200, wantBody: []string{"ok"}},
		{name: "readyz ok", path: "/readyz", wantCode: 200, wantBody: []string{"ok\n"}},
		{name: "readyz verbose", path: "/readyz?verbose", wantCode: 200, wantBody: []string{"[+]postgres ok", "[+]redis ok", "readyz check passed"}},
		{name: "one check", path: "/readyz/redis", wantCode: 200, wantBody: []string{"ok"}},
		{name: "unknown check", path: "/readyz/nope", wantCode: 404, wantBody: []string{`no check named "nope"`, "postgres, redis"}},
		{name: "readyz fails", setup: func() { cache.failing.Store(true) }, path: "/readyz", wantCode: 503, wantBody: []string{"[-]redis failed: connection refused", "readyz check failed"}, rejectBody: []string{"[+]postgres"}},
		{name: "readyz fails verbose", path: "/readyz?verbose", wantCode: 503, wantBody: []string{"[+]postgres ok", "[-]redis failed"}},
		{name: "failing check alone", path: "/readyz/redis", wantCode: 503},
		{name: "passing check alone", path: "/readyz/postgres", wantCode: 200},
		{name: "livez ignores readiness", path: "/livez", wantCode: 200},
		{name: "readiness check is not a liveness check", path: "/livez/redis", wantCode: 404},
		{name: "db down", setup: func() { cache.failing.Store(false); db.failing.Store(true) }, path: "/readyz", wantCode: 503, wantBody: []string{"[-]postgres failed"}},
		{name: "recovered", setup: func() { db.failing.Store(false) }, path: "/readyz", wantCode: 200},
		{name: "shutdown check before", path: "/readyz/shutdown", wantCode: 200},
		{name: "shutting down", setup: checks.Shutdown, path: "/readyz?verbose", wantCode: 503, wantBody: []string{"[-]shutdown failed"}},
		{name: "shutdown check after", path: "/readyz/shutdown", wantCode: 503},
		{name: "livez while draining", path: "/livez", wantCode: 200},
		{name: "no metrics without gatherer", path: "/debug/metrics", wantCode: 404},
		{name: "no pprof unless asked", path: "/debug/pprof/", wantCode: 404},
		{name: "no pprof heap unless asked", path: "/debug/pprof/heap", wantCode: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			code, body, _ := get(t, h, tt.path)
			if code != tt.wantCode {
				t.Fatalf("GET %s = %d, want %d; body:\n%s", tt.path, code, tt.wantCode, body)
			}
			for _, want := range tt.wantBody {
				if !strings.Contains(body, want) {
					t.Errorf("GET %s body lacks %q:\n%s", tt.path, want, body)
				}
			}
			for _, reject := range tt.rejectBody {
				if strings.Contains(body, reject) {
					t.Errorf("GET %s body has %q without ?verbose:\n%s", tt.path, reject, body)
				}
			}
		})
	}
}

func TestLivenessCheck(t *testing.T) {
	checks := health.New(health.WithCacheTTL(0))
	worker := &switchable{}
	if err := checks.Register("worker", worker.check, health.WithLiveness()); err != nil {
		t.Fatal(err)
	}
	h := New(WithChecks(checks))
	if code, _, _ := get(t, h, "/livez/worker"); code != 200 {
		t.Fatalf("/livez/worker = %d, want 200", code)
	}
	worker.failing.Store(true)
	if code, body, _ := get(t, h, "/livez"); code != 503 || !strings.Contains(body, "[-]worker failed") {
		t.Fatalf("/livez = %d %q, want 503 naming the worker", code, body)
	}
}

func TestHealthzJSON(t *testing.T) {
	checks, _, cache := newChecks(t)
	start := time.Now().Add(-90 * time.Second)
	h := New(WithChecks(checks), WithService("order"), WithVersion("v1.2.3"), WithStartTime(start))

	code, body, hdr := get(t, h, "/healthz")
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("/healthz = %d %s", code, hdr.Get("Content-Type"))
	}
	var sum Summary
	if err := json.Unmarshal([]byte(body), &sum); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	if sum.Status != "ok" || sum.Service != "order" || sum.Version != "v1.2.3" {
		t.Fatalf("summary = %+v", sum)
	}
	if sum.UptimeSec < 90 || sum.UptimeSec > 120 {
		t.Fatalf("uptime_sec = %v, want about 90", sum.UptimeSec)
	}
	if sum.DBPingMS == nil || *sum.DBPingMS < 2 {
		t.Fatalf("db_ping_ms = %v, want the measured ping (>= 2ms)", sum.DBPingMS)
	}
	if len(sum.Checks) != 2 || sum.Checks["postgres"].Status != "ok" || !sum.Checks["postgres"].Database {
		t.Fatalf("checks = %+v", sum.Checks)
	}
	// Every documented key is present, db_ping_ms included.
	var raw map[string]any
	_ = json.Unmarshal([]byte(body), &raw)
	for _, key := range []string{"status", "service", "version", "uptime_sec", "db_ping_ms", "checks"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("/healthz lacks %q: %s", key, body)
		}
	}

	cache.failing.Store(true)
	code, body, _ = get(t, h, "/healthz")
	if code != 503 || !strings.Contains(body, `"status":"fail"`) || !strings.Contains(body, "connection refused") {
		t.Fatalf("/healthz with failing check = %d %s", code, body)
	}
	checks.Shutdown()
	if code, body, _ = get(t, h, "/healthz"); code != 503 || !strings.Contains(body, `"status":"shutting_down"`) {
		t.Fatalf("/healthz while draining = %d %s", code, body)
	}
}

func TestHealthzWithoutDatabase(t *testing.T) {
	h := New(WithService("edge"))
	_, body, _ := get(t, h, "/healthz")
	if !strings.Contains(body, `"db_ping_ms":null`) || !strings.Contains(body, `"checks":{}`) {
		t.Fatalf("/healthz without checks = %s, want db_ping_ms null and empty checks", body)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	labelled := prometheus.WrapRegistererWith(prometheus.Labels{"service": "order"}, reg)
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "orders_created_total", Help: "Orders created."})
	labelled.MustRegister(counter)
	counter.Add(3)

	h := New(WithGatherer(reg))
	code, body, _ := get(t, h, "/debug/metrics")
	if code != 200 || !strings.Contains(body, `orders_created_total{service="order"} 3`) {
		t.Fatalf("/debug/metrics = %d:\n%s", code, body)
	}
}

// An OpenMetrics scrape carries exemplars (the trace_id of the call that
// changed a breaker's state); a plain scrape stays the text format.
func TestMetricsExemplarsOverOpenMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "breaker_transitions_total", Help: "Transitions."})
	reg.MustRegister(counter)
	counter.(prometheus.ExemplarAdder).AddWithExemplar(1, prometheus.Labels{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"})
	h := New(WithGatherer(reg))

	req := httptest.NewRequest("GET", "/debug/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Errorf("Content-Type = %q, want application/openmetrics-text", ct)
	}
	if body := rec.Body.String(); !strings.Contains(body, `breaker_transitions_total 1.0 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 1.0`) {
		t.Errorf("OpenMetrics scrape has no trace_id exemplar:\n%s", body)
	}
	if _, body, _ := get(t, h, "/debug/metrics"); strings.Contains(body, "trace_id") || !strings.Contains(body, "breaker_transitions_total 1") {
		t.Errorf("plain scrape is not the text format:\n%s", body)
	}
}

func TestPprof(t *testing.T) {
	h := New(WithPprof())
	tests := []struct {
		path     string
		wantCode int
		wantBody string
	}{
		{path: "/debug/pprof/", wantCode: 200, wantBody: "goroutine"},
		{path: "/debug/pprof/goroutine?debug=1", wantCode: 200, wantBody: "goroutine profile:"},
		{path: "/debug/pprof/heap?gc=1", wantCode: 200},
		{path: "/debug/pprof/cmdline", wantCode: 200},
		{path: "/debug/pprof/trace?seconds=0.05", wantCode: 200},
		{path: "/debug/pprof/profile?seconds=-1", wantCode: 400, wantBody: "not a positive number"},
		{path: "/debug/pprof/profile?seconds=61", wantCode: 400, wantBody: "cap"},
		{path: "/debug/pprof/trace?seconds=3600", wantCode: 400, wantBody: "cap"},
		{path: "/debug/pprof/nosuch", wantCode: 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body, _ := get(t, h, tt.path)
			if code != tt.wantCode {
				t.Fatalf("GET %s = %d, want %d: %s", tt.path, code, tt.wantCode, body)
			}
			if tt.wantCode == 200 && len(body) == 0 && !strings.HasSuffix(tt.path, "cmdline") {
				t.Fatalf("GET %s returned an empty body", tt.path)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Fatalf("GET %s body lacks %q", tt.path, tt.wantBody)
			}
		})
	}
}

func TestMountSharesAnExplicitMux(t *testing.T) {
	h := New(WithGatherer(prometheus.NewRegistry()))
	mux := http.NewServeMux()
	h.Mount(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "gateway") })
	for path, want := range map[string]string{"/readyz": "ok", "/readyz/shutdown": "ok", "/v1/orders": "gateway", "/debug/metrics": ""} {
		code, body, _ := get(t, mux, path)
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d %q, want 200 containing %q", path, code, body, want)
		}
	}
}

// TestPprofAsLongAsTheWriteTimeout serves the admin handler from a real
// http.Server whose WriteTimeout equals the requested profile duration,
// the case of a 60s profile on serve.NewHTTPServer's 60s WriteTimeout: the
// profile, trace and delta profile must arrive whole, not as an EOF. It
// also checks /symbol, which go tool pprof POSTs to.
func TestPprofAsLongAsTheWriteTimeout(t *testing.T) {
	srv := httptest.NewUnstartedServer(New(WithPprof()))
	srv.Config.WriteTimeout = time.Second
	srv.Start()
	t.Cleanup(srv.Close) // after the parallel subtests
	client := srv.Client()

	for _, path := range []string{"/debug/pprof/profile?seconds=1", "/debug/pprof/trace?seconds=1", "/debug/pprof/allocs?seconds=1"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel() // the CPU profile, the trace and the delta profile can run together
			resp, err := client.Get(srv.URL + path)
			if err != nil {
				t.Fatalf("GET %s: %v (the write deadline cut the answer)", path, err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 || len(body) == 0 {
				t.Fatalf("GET %s = %d, %d bytes, %v; want 200 with the whole profile", path, resp.StatusCode, len(body), err)
			}
		})
	}
	t.Run("symbol", func(t *testing.T) {
		t.Parallel()
		resp, err := client.Post(srv.URL+"/debug/pprof/symbol", "text/plain", strings.NewReader("0x1"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "num_symbols: 1") {
			t.Fatalf("POST /debug/pprof/symbol = %d %q", resp.StatusCode, body)
		}
	})
}

// TestHealthzHangingDatabaseShowsItsWait: /healthz on a database that
// hangs past the probe's timeout reports the real wait as db_ping_ms (with
// the check's error), never 0, both for the probe whose run hangs and for a
// probe that joins that run.
func TestHealthzHangingDatabaseShowsItsWait(t *testing.T) {
	checks := health.New(health.WithCacheTTL(0))
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	if err := checks.Register("postgres", func(context.Context) error {
		once.Do(func() { close(entered) })
		<-release // a database that hangs and ignores ctx
		return nil
	}, health.AsDatabase(), health.WithTimeout(time.Minute)); err != nil {
		t.Fatal(err)
	}
	const probeTimeout = 30 * time.Millisecond
	h := New(WithChecks(checks), WithProbeTimeout(probeTimeout))
	probe := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code, rec.Body.String()
	}
	type answer struct {
		code int
		body string
	}
	first := make(chan answer, 1)
	go func() { code, body := probe(); first <- answer{code, body} }()
	<-entered
	second, secondBody := probe()
	// Both probes give up before the database answers: release it only
	// then, or the first probe may see the run finish in the same instant
	// its deadline passes and report a success.
	firstAnswer := <-first
	close(release)
	// The probe that joined the run waited its whole timeout on a run that
	// had started before it: its db_ping_ms is at least that. The probe
	// that started the run gave up at its own deadline, which it set a
	// moment before the run started: its wait is only known to be above 0.
	for i, a := range []struct {
		answer
		atLeast float64
	}{{answer{second, secondBody}, float64(probeTimeout.Milliseconds())}, {firstAnswer, 0}} {
		var sum Summary
		if err := json.Unmarshal([]byte(a.body), &sum); err != nil {
			t.Fatalf("decoding %s: %v", a.body, err)
		}
		if a.code != 503 || sum.DBPingMS == nil || *sum.DBPingMS <= 0 || *sum.DBPingMS < a.atLeast || sum.Checks["postgres"].Error == "" {
			t.Errorf("probe %d: /healthz = %d %s, want 503 with db_ping_ms above 0 and >= %vms, and the check's error", i, a.code, a.body, a.atLeast)
		}
	}
}
