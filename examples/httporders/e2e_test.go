package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	_ "github.com/govkit/govern/internal/golden" // accepts go test ./... -update
	"github.com/govkit/govern/internal/redistest"
	"github.com/govkit/govern/runtime/httpgovern"
	"github.com/govkit/govern/runtime/idempotency/redisstore"
	"github.com/govkit/govern/runtime/problem"
)

type replica struct {
	svc *orders
	srv *httptest.Server
	reg *prometheus.Registry
}

func start(t *testing.T, opts ...httpgovern.Option) *replica {
	t.Helper()
	r := &replica{svc: newOrders(), reg: prometheus.NewRegistry()}
	h, _, err := newHandler(r.svc, append([]httpgovern.Option{httpgovern.WithRegisterer(r.reg), httpgovern.WithService("httporders", "test", "local")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	r.srv = httptest.NewServer(h)
	t.Cleanup(r.srv.Close)
	return r
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func post(t *testing.T, url, key, body string) answer {
	t.Helper()
	req, err := http.NewRequest("POST", url+"/orders", strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return answer{}
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return send(t, req)
}

func send(t *testing.T, req *http.Request) answer {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return answer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func reason(t *testing.T, a answer) string {
	t.Helper()
	if a.header.Get("Content-Type") != problem.ContentType {
		t.Fatalf("status %d with %q, want problem+json: %s", a.status, a.header.Get("Content-Type"), a.body)
	}
	var p problem.Problem
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatal(err)
	}
	return p.Reason
}

// TestGovernedOverHTTP drives the example's declared governance over real
// HTTP: derived keys, header keys, 400, 422, replay, metrics by template.
func TestGovernedOverHTTP(t *testing.T) {
	r := start(t)
	body := `{"client_id":"c1","order":{"sn":"A-1","amount_cents":1250}}`
	first := post(t, r.srv.URL, "", body)
	if first.status != http.StatusCreated {
		t.Fatalf("create: %d %s", first.status, first.body)
	}
	again := post(t, r.srv.URL, "", body) // same client_id + sn: the derived key
	if again.status != http.StatusCreated || !bytes.Equal(again.body, first.body) || again.header.Get(httpgovern.ReplayedHeader) != "true" {
		t.Fatalf("retry with the same key fields: %d %s, want the replay of %s", again.status, again.body, first.body)
	}
	if got := reason(t, post(t, r.srv.URL, "", `{"order":{"sn":"A-2"}}`)); got != "IDEMPOTENCY_KEY_MISSING" {
		t.Errorf("no key and no client_id: %s", got)
	}
	key := uuid.NewString()
	post(t, r.srv.URL, key, `{"client_id":"c1","order":{"sn":"B-1"}}`)
	if a := post(t, r.srv.URL, key, `{"client_id":"c1","order":{"sn":"B-2"}}`); a.status != 422 || reason(t, a) != "IDEMPOTENCY_KEY_REUSED" {
		t.Errorf("key reused with another body: %d %s", a.status, a.body)
	}
	if n := r.svc.created.Load(); n != 2 {
		t.Errorf("CreateOrder ran %d times, want 2", n)
	}
	var created map[string]any
	if err := json.Unmarshal(first.body, &created); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", r.srv.URL+"/orders/"+created["id"].(string), nil)
	if a := send(t, req); a.status != 200 {
		t.Errorf("get: %d %s", a.status, a.body)
	}
	req, _ = http.NewRequest("GET", r.srv.URL+"/orders/nope", nil)
	if a := send(t, req); a.status != 404 {
		t.Errorf("get missing: %d", a.status)
	}
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != httpgovern.MetricRequestDuration {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" {
					routes[l.GetValue()] = true
				}
			}
		}
	}
	if !routes["/orders/{id}"] || !routes["/orders"] || len(routes) != 2 {
		t.Errorf("route labels %v, want the two templates only", routes)
	}
}

// TestRateLimited sends requests from four clients until one is limited:
// 50 rps with a burst of 20 is exceeded as soon as requests take less than
// 20ms each, so the loop ends long before its bound.
func TestRateLimited(t *testing.T) {
	r := start(t)
	var seq atomic.Int64
	var limited atomic.Pointer[answer]
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for limited.Load() == nil && seq.Load() < 2000 {
				a := post(t, r.srv.URL, "", fmt.Sprintf(`{"client_id":"c","order":{"sn":"%d"}}`, seq.Add(1)))
				if a.status == http.StatusTooManyRequests {
					limited.Store(&a)
				}
			}
		}()
	}
	wg.Wait()
	a := limited.Load()
	if a == nil {
		t.Fatal("2000 requests never hit the 50 rps / burst 20 limit")
	}
	if a.header.Get("Retry-After") == "" || reason(t, *a) != "RATE_LIMITED" {
		t.Fatalf("429 without Retry-After or reason: %v %s", a.header, a.body)
	}
}

// duplicates sends n copies of one keyed request across the replicas while
// the first is held in its handler, then releases it.
func duplicates(t *testing.T, replicas []*replica, n int) (conflicts int32) {
	t.Helper()
	hold := make(chan struct{})
	for _, r := range replicas {
		r.svc.hold = hold
	}
	key := uuid.NewString()
	body := `{"client_id":"c9","order":{"sn":"Z"}}`
	done := make(chan answer)
	go func() { done <- post(t, replicas[0].srv.URL, key, body) }()
	for replicas[0].svc.created.Load() == 0 {
		runtime.Gosched()
	}
	var wg sync.WaitGroup
	var c atomic.Int32
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a := post(t, replicas[i%len(replicas)].srv.URL, key, body); a.status == http.StatusConflict {
				c.Add(1)
			}
		}()
	}
	wg.Wait()
	close(hold)
	first := <-done
	if first.status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	for _, r := range replicas {
		if a := post(t, r.srv.URL, key, body); a.status != http.StatusCreated || !bytes.Equal(a.body, first.body) {
			t.Errorf("replay on another replica: %d %s, want %s", a.status, a.body, first.body)
		}
	}
	return c.Load()
}

func TestConcurrentDuplicatesRunOnce(t *testing.T) {
	r := start(t)
	if c := duplicates(t, []*replica{r}, 10); c != 10 {
		t.Errorf("%d of 10 duplicates got 409", c)
	}
	if n := r.svc.created.Load(); n != 1 {
		t.Errorf("CreateOrder ran %d times, want 1", n)
	}
}

// TestTwoReplicasShareRedis runs two replicas on one Redis store: a key
// claimed on one is in flight, then replayed, on the other.
func TestTwoReplicasShareRedis(t *testing.T) {
	client := redistest.Client(t)
	store, err := redisstore.New(client, redisstore.WithKeyPrefix("govern:test:httporders:"+uuid.NewString()+":"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := start(t, httpgovern.WithIdempotencyStore(store)), start(t, httpgovern.WithIdempotencyStore(store))
	if c := duplicates(t, []*replica{a, b}, 10); c != 10 {
		t.Errorf("%d of 10 duplicates got 409", c)
	}
	if n := a.svc.created.Load() + b.svc.created.Load(); n != 1 {
		t.Errorf("CreateOrder ran %d times across replicas, want 1", n)
	}
}
