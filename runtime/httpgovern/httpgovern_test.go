package httpgovern

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	_ "github.com/govkit/govern/internal/golden" // accepts go test ./... -update

	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/problem"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve mounts handlers under the middleware on an explicit ServeMux, the
// way the generated server does: the middleware runs inside the mux.
func serve(t *testing.T, mw *Middleware, handlers map[string]http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for pattern, h := range handlers {
		mux.Handle(pattern, mw.Handler(h))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, key, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func problemOf(t *testing.T, resp *http.Response, body []byte) problem.Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("Content-Type = %q, want %s (status %d, body %s)", ct, problem.ContentType, resp.StatusCode, body)
	}
	var p problem.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRateLimit429WithRetryAfter(t *testing.T) {
	p := &policy.Method{FullMethod: "listOrders", Name: "listOrders", RateLimit: &policy.RateLimit{RPS: 0.001, Burst: 2}}
	mw, err := New([]policy.Route{{HTTPMethod: "GET", Pattern: "/orders", Policy: p}})
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	srv := serve(t, mw, map[string]http.HandlerFunc{"GET /orders": func(w http.ResponseWriter, r *http.Request) { runs.Add(1) }})
	for range 2 {
		if resp, _ := do(t, "GET", srv.URL+"/orders", "", ""); resp.StatusCode != 200 {
			t.Fatalf("within burst: %d", resp.StatusCode)
		}
	}
	resp, body := do(t, "GET", srv.URL+"/orders", "", "")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if p := problemOf(t, resp, body); p.Reason != "RATE_LIMITED" || p.Route != "/orders" {
		t.Errorf("problem = %+v", p)
	}
	if runs.Load() != 2 {
		t.Errorf("handler ran %d times, want 2", runs.Load())
	}
}

func TestBreakerOpens503(t *testing.T) {
	p := &policy.Method{FullMethod: "getOrder", Name: "getOrder", CircuitBreaker: &policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 2, Window: time.Minute, OpenFor: time.Minute, HalfOpenRequests: 1}}
	mw, err := New([]policy.Route{{HTTPMethod: "GET", Pattern: "/orders/{id}", Policy: p}})
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	srv := serve(t, mw, map[string]http.HandlerFunc{"GET /orders/{id}": func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}})
	for range 2 {
		do(t, "GET", srv.URL+"/orders/1", "", "")
	}
	resp, body := do(t, "GET", srv.URL+"/orders/1", "", "")
	if resp.StatusCode != http.StatusServiceUnavailable || problemOf(t, resp, body).Reason != "CIRCUIT_OPEN" {
		t.Fatalf("open breaker answered %d %s", resp.StatusCode, body)
	}
	if runs.Load() != 2 {
		t.Errorf("handler ran %d times with the breaker open", runs.Load())
	}
}

func TestTimeout504AndDeadline(t *testing.T) {
	p := &policy.Method{FullMethod: "slow", Name: "slow", Timeout: 50 * time.Millisecond}
	mw, err := New([]policy.Route{{HTTPMethod: "GET", Pattern: "/slow", Policy: p}})
	if err != nil {
		t.Fatal(err)
	}
	var hadDeadline atomic.Bool
	srv := serve(t, mw, map[string]http.HandlerFunc{"GET /slow": func(w http.ResponseWriter, r *http.Request) {
		_, ok := r.Context().Deadline()
		hadDeadline.Store(ok)
		<-r.Context().Done()
	}})
	resp, body := do(t, "GET", srv.URL+"/slow", "", "")
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504", resp.StatusCode)
	}
	problemOf(t, resp, body)
	if !hadDeadline.Load() {
		t.Error("the handler's context had no deadline")
	}
}

func idemRoutes(required bool, fields ...KeyField) []policy.Route {
	p := &policy.Method{FullMethod: "/order.v1.OrderService/CreateOrder", Name: "createOrder", Timeout: 5 * time.Second,
		Idempotency: &policy.Idempotency{Required: required, TTL: time.Hour, Lease: 10 * time.Second}}
	if len(fields) > 0 {
		p.Idempotency.Key = KeyFunc(fields...)
		for _, f := range fields {
			p.Idempotency.KeyFields = append(p.Idempotency.KeyFields, f.Name)
		}
	}
	return []policy.Route{{HTTPMethod: "POST", Pattern: "/orders", Policy: p}}
}

func TestIdempotencyRejections(t *testing.T) {
	mw, err := New(idemRoutes(true))
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	srv := serve(t, mw, map[string]http.HandlerFunc{"POST /orders": func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		_, _ = io.Copy(w, r.Body)
	}})
	cases := []struct {
		key, body string
		status    int
		reason    string
	}{
		{"", `{"a":1}`, 400, "IDEMPOTENCY_KEY_MISSING"},
		{`"unterminated`, `{"a":1}`, 400, "IDEMPOTENCY_KEY_INVALID"},
		{"k1", `{"a":1}`, 200, ""},
		{"k1", `{"a": 1}`, 200, ""}, // same JSON, other whitespace: replayed
		{"k1", `{"a":2}`, 422, "IDEMPOTENCY_KEY_REUSED"},
	}
	for _, c := range cases {
		resp, body := do(t, "POST", srv.URL+"/orders", c.key, c.body)
		if resp.StatusCode != c.status {
			t.Fatalf("key %q body %s: status %d, want %d (%s)", c.key, c.body, resp.StatusCode, c.status, body)
		}
		if c.reason != "" {
			if p := problemOf(t, resp, body); p.Reason != c.reason {
				t.Errorf("key %q: reason %s, want %s", c.key, p.Reason, c.reason)
			}
		}
	}
	if runs.Load() != 1 {
		t.Errorf("handler ran %d times, want 1", runs.Load())
	}
}

// TestConcurrentDuplicatesRunOnce sends the same keyed request from many
// goroutines while the first is held in the handler: exactly one runs,
// the others get 409 with Retry-After, and afterwards every retry replays
// the first response byte for byte.
func TestConcurrentDuplicatesRunOnce(t *testing.T) {
	mw, err := New(idemRoutes(true))
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	entered := make(chan struct{})
	release := make(chan struct{})
	srv := serve(t, mw, map[string]http.HandlerFunc{"POST /orders": func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) == 1 {
			close(entered)
			<-release
		}
		w.Header().Set("Location", "/orders/42")
		w.Header().Add("X-Order", "a")
		w.Header().Add("X-Order", "b")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"42","at":%d}`, time.Now().UnixNano())
	}})
	var first *http.Response
	var firstBody []byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		first, firstBody = do(t, "POST", srv.URL+"/orders", "order-42", `{"sn":"42"}`)
	}()
	<-entered
	var wg sync.WaitGroup
	var conflicts atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := do(t, "POST", srv.URL+"/orders", "order-42", `{"sn":"42"}`)
			if resp.StatusCode == http.StatusConflict && resp.Header.Get("Retry-After") != "" {
				conflicts.Add(1)
			}
		}()
	}
	wg.Wait()
	close(release)
	<-done
	if conflicts.Load() != 8 {
		t.Errorf("%d of 8 duplicates got 409 with Retry-After", conflicts.Load())
	}
	if first.StatusCode != http.StatusCreated {
		t.Fatalf("first: %d", first.StatusCode)
	}
	replay, replayBody := do(t, "POST", srv.URL+"/orders", "order-42", `{"sn":"42"}`)
	if replay.StatusCode != first.StatusCode || !bytes.Equal(replayBody, firstBody) {
		t.Errorf("replay %d %s, want %d %s", replay.StatusCode, replayBody, first.StatusCode, firstBody)
	}
	for _, h := range []string{"Location", "Content-Type"} {
		if replay.Header.Get(h) != first.Header.Get(h) {
			t.Errorf("replayed %s = %q, want %q", h, replay.Header.Get(h), first.Header.Get(h))
		}
	}
	if got := replay.Header.Values("X-Order"); strings.Join(got, ",") != "a,b" {
		t.Errorf("replayed X-Order = %v", got)
	}
	if replay.Header.Get(ReplayedHeader) != "true" {
		t.Error("replay not marked")
	}
	if runs.Load() != 1 {
		t.Errorf("handler ran %d times, want 1", runs.Load())
	}
}

func TestKeyFieldsDeriveTheKey(t *testing.T) {
	mw, err := New(idemRoutes(true, BodyField("order", "sn"), QueryParam("shop")))
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	srv := serve(t, mw, map[string]http.HandlerFunc{"POST /orders": func(w http.ResponseWriter, r *http.Request) { runs.Add(1) }})
	for range 3 {
		if resp, body := do(t, "POST", srv.URL+"/orders?shop=7", "", `{"order":{"sn":"A1"}}`); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	if runs.Load() != 1 {
		t.Fatalf("derived key: handler ran %d times, want 1", runs.Load())
	}
	// A different shop is a different key; no sn means no key: 400.
	do(t, "POST", srv.URL+"/orders?shop=8", "", `{"order":{"sn":"A1"}}`)
	if resp, _ := do(t, "POST", srv.URL+"/orders?shop=8", "", `{"order":{}}`); resp.StatusCode != 400 {
		t.Errorf("no key fields: %d, want 400", resp.StatusCode)
	}
	if runs.Load() != 2 {
		t.Errorf("handler ran %d times, want 2", runs.Load())
	}
}

func TestTransientAnswersReleaseTheKey(t *testing.T) {
	mw, err := New(idemRoutes(false))
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	srv := serve(t, mw, map[string]http.HandlerFunc{"POST /orders": func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}})
	if resp, _ := do(t, "POST", srv.URL+"/orders", "k", `{}`); resp.StatusCode != 503 {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "POST", srv.URL+"/orders", "k", `{}`); resp.StatusCode != 201 {
		t.Fatalf("retry after 503 must run again: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "POST", srv.URL+"/orders", "k", `{}`); resp.StatusCode != 201 || resp.Header.Get(ReplayedHeader) != "true" {
		t.Fatalf("third call must replay the 201: %d", resp.StatusCode)
	}
	if runs.Load() != 2 {
		t.Errorf("handler ran %d times, want 2", runs.Load())
	}
}

func TestPanicReleasesAndAnswers500(t *testing.T) {
	mw, err := New(idemRoutes(true))
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	srv := serve(t, mw, map[string]http.HandlerFunc{"POST /orders": func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) == 1 {
			panic("boom")
		}
	}})
	if resp, body := do(t, "POST", srv.URL+"/orders", "k", `{}`); resp.StatusCode != 500 {
		t.Fatalf("panic: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "POST", srv.URL+"/orders", "k", `{}`); resp.StatusCode != 200 {
		t.Fatalf("after a panic the key is free: %d", resp.StatusCode)
	}
}

func TestMetricsUseRouteTemplate(t *testing.T) {
	p := &policy.Method{FullMethod: "getOrder", Name: "getOrder"}
	mw, err := New([]policy.Route{{HTTPMethod: "GET", Pattern: "/orders/{id}", Policy: p}}, WithService("orders", "test", "eu"))
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, mw, map[string]http.HandlerFunc{"GET /orders/{id}": func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "404" {
			w.WriteHeader(http.StatusNotFound)
		}
	}})
	for _, id := range []string{"1", "2", "404"} {
		do(t, "GET", srv.URL+"/orders/"+id, "", "")
	}
	want := `
# HELP http_request_duration_seconds Duration of governed HTTP requests, by route template, method and status code.
# TYPE http_request_duration_seconds histogram
`
	n, err := testutil.GatherAndCount(mw.Registry(), MetricRequestDuration)
	if err != nil || n != 2 {
		t.Fatalf("%d series (%v), want 2: one per code", n, err)
	}
	mfs, err := mw.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != MetricRequestDuration {
			continue // the governor's series (breakers, limits) carry no route
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] != "/orders/{id}" || labels["method"] != "GET" || labels["service"] != "orders" || labels["env"] != "test" || labels["region"] != "eu" {
				t.Errorf("labels %v", labels)
			}
		}
	}
	_ = want
}

func TestTracingContinuesB3AndW3C(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := trace.NewTracerProvider(trace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	p := &policy.Method{FullMethod: "getOrder", Name: "getOrder", Sampling: 0} // never sampled at the root
	mw, err := New([]policy.Route{{HTTPMethod: "GET", Pattern: "/orders/{id}", Policy: p}}, WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, mw, map[string]http.HandlerFunc{"GET /orders/{id}": func(w http.ResponseWriter, r *http.Request) {}})
	for _, h := range []map[string]string{
		{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		{"X-B3-TraceId": "80f198ee56343ba864fe8b2a57d3eff7", "X-B3-SpanId": "e457b5a2e4d86bd1", "X-B3-Sampled": "1"},
		{},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/orders/1", nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2 (the unsampled root is not traced)", len(spans))
	}
	got := spans[0].SpanContext.TraceID().String() + " " + spans[1].SpanContext.TraceID().String()
	if got != "0af7651916cd43dd8448eb211c80319c 80f198ee56343ba864fe8b2a57d3eff7" {
		t.Errorf("trace ids %s", got)
	}
}

func TestUngovernedRoutePassesThrough(t *testing.T) {
	mw, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, mw, map[string]http.HandlerFunc{"GET /x": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }})
	if resp, _ := do(t, "GET", srv.URL+"/x", "", ""); resp.StatusCode != 204 {
		t.Fatal(resp.StatusCode)
	}
}
