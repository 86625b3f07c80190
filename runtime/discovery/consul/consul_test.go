package consul_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
	"github.com/govkit/govern/runtime/discovery"
	"github.com/govkit/govern/runtime/discovery/consul"
	"github.com/govkit/govern/runtime/discovery/discoverytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeConsul speaks the part of Consul's documented HTTP API the package
// uses: PUT /v1/agent/service/register, PUT /v1/agent/service/deregister/:id,
// PUT /v1/agent/check/update/:check, and GET /v1/health/service/:name with
// passing, dc, and the blocking query's index and wait (X-Consul-Index).
type fakeConsul struct {
	mu       sync.Mutex
	changed  chan struct{}
	index    uint64
	services map[string]*fakeService
	queries  []string // dc of every health query
	updates  int
}

type fakeService struct {
	reg    api.AgentServiceRegistration
	status string
}

func newFakeConsul(t *testing.T) (*fakeConsul, *api.Client) {
	t.Helper()
	f := &fakeConsul{changed: make(chan struct{}), index: 10, services: map[string]*fakeService{}}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /v1/agent/service/register", f.register)
	mux.HandleFunc("PUT /v1/agent/service/deregister/{id}", f.deregister)
	mux.HandleFunc("PUT /v1/agent/check/update/{check}", f.update)
	mux.HandleFunc("GET /v1/health/service/{name}", f.health)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg := api.DefaultConfig()
	cfg.Address = strings.TrimPrefix(srv.URL, "http://")
	cfg.Transport.MaxIdleConnsPerHost = 4
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cfg.Transport.CloseIdleConnections)
	return f, c
}

func (f *fakeConsul) bump() {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeConsul) register(w http.ResponseWriter, r *http.Request) {
	var reg api.AgentServiceRegistration
	if err := json.NewDecoder(r.Body).Decode(&reg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	status := api.HealthCritical
	if reg.Check != nil && reg.Check.Status != "" {
		status = reg.Check.Status
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.services[reg.ID] = &fakeService{reg: reg, status: status}
	f.bump()
}

func (f *fakeConsul) deregister(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.services[r.PathValue("id")]; !ok {
		http.Error(w, "Unknown service ID", http.StatusNotFound)
		return
	}
	delete(f.services, r.PathValue("id"))
	f.bump()
}

func (f *fakeConsul) update(w http.ResponseWriter, r *http.Request) {
	var body struct{ Status string }
	_ = json.NewDecoder(r.Body).Decode(&body)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.services {
		if s.reg.Check != nil && s.reg.Check.CheckID == r.PathValue("check") {
			f.updates++
			if s.status != body.Status {
				s.status = body.Status
				f.bump()
			}
			return
		}
	}
	http.Error(w, `Unknown check ID "`+r.PathValue("check")+`"`, http.StatusNotFound)
}

// forget drops every service, as an agent restart does.
func (f *fakeConsul) forget() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.services = map[string]*fakeService{}
	f.bump()
}

func (f *fakeConsul) setStatus(id, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.services[id].status = status
	f.bump()
}

func (f *fakeConsul) health(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	index, _ := strconv.ParseUint(q.Get("index"), 10, 64)
	wait, err := time.ParseDuration(q.Get("wait"))
	if err != nil {
		wait = 5 * time.Minute
	}
	f.mu.Lock()
	f.queries = append(f.queries, q.Get("dc"))
	if index >= f.index {
		ch := f.changed
		f.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ch:
		case <-t.C:
		case <-r.Context().Done():
		}
		t.Stop()
		f.mu.Lock()
	}
	defer f.mu.Unlock()
	dc := q.Get("dc")
	if dc == "" {
		dc = "dc1"
	}
	entries := []*api.ServiceEntry{}
	for _, s := range f.services {
		if s.reg.Name != r.PathValue("name") || (q.Get("passing") != "" && s.status != api.HealthPassing) {
			continue
		}
		entries = append(entries, &api.ServiceEntry{
			Node:    &api.Node{Node: "node1", Address: "127.0.0.1", Datacenter: dc},
			Service: &api.AgentService{ID: s.reg.ID, Service: s.reg.Name, Address: s.reg.Address, Port: s.reg.Port, Meta: s.reg.Meta},
			Checks:  api.HealthChecks{{CheckID: s.reg.Check.CheckID, Status: s.status}},
		})
	}
	w.Header().Set("X-Consul-Index", strconv.FormatUint(f.index, 10))
	w.Header().Set("X-Consul-KnownLeader", "true")
	w.Header().Set("X-Consul-LastContact", "0")
	_ = json.NewEncoder(w).Encode(entries)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRegisterResolveAndHealthFilter(t *testing.T) {
	f, c := newFakeConsul(t)
	metrics := prometheus.NewRegistry()
	r, err := consul.NewRegistry(c, consul.WithDatacenter("eu-west"), consul.WithTTLCheck(time.Second), consul.WithRegisterer(metrics), consul.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	near := discoverytest.Start(t, "127.0.0.2")
	far := discoverytest.Start(t, "127.0.0.3")
	ctx := t.Context()
	regNear, err := r.Register(ctx, "inventory", discovery.Endpoint{Addr: near.Addr, Region: "us-west-2", Colour: "canary"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = regNear.Deregister(ctx) }()
	regFar, err := r.Register(ctx, "inventory", discovery.Endpoint{Addr: far.Addr, Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}

	w, err := r.Watch(ctx, "inventory")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	eps, err := w.Next(ctx)
	if err != nil || len(eps) != 2 {
		t.Fatalf("first answer %v, %v; want both instances", eps, err)
	}
	for _, ep := range eps {
		if ep.Addr == near.Addr && (ep.Region != "us-west-2" || ep.Colour != "canary") {
			t.Errorf("near instance %+v lost its region or colour", ep)
		}
	}
	// A blocking query returns on the change: the far instance's check
	// goes critical, and the passing filter drops it.
	f.setStatus(consul.ServiceID("inventory", far.Addr), api.HealthCritical)
	eps, err = w.Next(ctx)
	if err != nil || len(eps) != 1 || eps[0].Addr != near.Addr {
		t.Fatalf("after the far check went critical: %v, %v; want only the near instance", eps, err)
	}
	if err := regFar.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	for _, dc := range f.queries {
		if dc != "eu-west" {
			t.Errorf("a health query asked dc=%q, want eu-west", dc)
		}
	}
	queries := len(f.queries)
	f.mu.Unlock()
	if queries > 4 {
		t.Errorf("%d health queries for two changes; blocking queries should need about one per change", queries)
	}
	mfs, _ := metrics.Gather()
	var observed uint64
	for _, mf := range mfs {
		if mf.GetName() == "govern_discovery_consul_propagation_seconds" {
			for _, m := range mf.GetMetric() {
				observed += m.GetHistogram().GetSampleCount()
			}
		}
	}
	if observed != 2 {
		t.Errorf("propagation lag observed %d times, want once per instance (2)", observed)
	}
}

func TestTTLPassedAndReRegisteredAfterAgentRestart(t *testing.T) {
	f, c := newFakeConsul(t)
	r, err := consul.NewRegistry(c, consul.WithTTLCheck(time.Second), consul.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := r.Register(t.Context(), "inventory", discovery.Endpoint{Addr: "127.0.0.2:7000", Region: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Deregister(t.Context()) }()
	eventually(t, "the TTL check is passed", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.updates > 0 })
	f.forget()
	eventually(t, "the instance registers again", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		_, ok := f.services[consul.ServiceID("inventory", "127.0.0.2:7000")]
		return ok
	})
}

func TestResolverOverConsul(t *testing.T) {
	_, c := newFakeConsul(t)
	r, err := consul.NewRegistry(c, consul.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	near := discoverytest.Start(t, "127.0.0.2")
	far := discoverytest.Start(t, "127.0.0.3")
	for _, ep := range []discovery.Endpoint{{Addr: far.Addr, Region: "eu-west-1"}, {Addr: near.Addr, Region: "us-west-2"}} {
		reg, err := r.Register(t.Context(), "inventory", ep)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = reg.Deregister(t.Context()) }()
	}
	conn := discoverytest.Dial(t, r, "inventory", discovery.WithLocalRegion("us-west-2"), discovery.WithoutProbing(), discovery.WithLogger(quiet))
	eventually(t, "calls reach the near instance", func() bool {
		a, err := discoverytest.Who(t.Context(), conn)
		return err == nil && a == near.Addr
	})
}

func TestBadConfigNamesTheFix(t *testing.T) {
	if _, err := consul.NewRegistry(nil); err == nil || !strings.Contains(err.Error(), "CONSUL_HTTP_ADDR") {
		t.Errorf("NewRegistry(nil) = %v", err)
	}
	c, _ := api.NewClient(api.DefaultConfig())
	if _, err := consul.NewRegistry(c, consul.WithWaitTime(time.Hour)); err == nil {
		t.Error("NewRegistry accepted a wait beyond Consul's 10m")
	}
}
