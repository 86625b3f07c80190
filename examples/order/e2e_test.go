package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	orderv1 "github.com/govkit/govern/examples/order/gen/order/v1"
	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/gateway"
	"github.com/govkit/govern/runtime/logging"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// createLatency is CreateOrder's simulated work: long enough to send a
// duplicate while the first call is in flight, well inside its 800ms
// deadline.
const createLatency = 300 * time.Millisecond

// service is the example running on loopback ports.
type service struct {
	logs        *syncBuffer
	app         *app
	httpURL     string
	adminURL    string
	maintenance string
	client      *http.Client
	health      healthgrpc.HealthClient
	conn        *grpc.ClientConn
}

func startService(t *testing.T) *service {
	t.Helper()
	dir := t.TempDir()
	cfg, err := parseConfig([]string{
		"-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0",
		"-env", "test", "-region", "test-1", "-version", "e2e",
		"-create-latency", createLatency.String(),
		"-maintenance-file", filepath.Join(dir, "maintenance"),
		"-drain-delay", "0s",
	}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	a, err := newApp(ctx, cfg, logging.New(logs, slog.LevelDebug))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.run(ctx) }()

	conn, err := grpc.NewClient(a.grpcLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	s := &service{
		logs:        logs,
		app:         a,
		httpURL:     "http://" + a.httpLis.Addr().String(),
		adminURL:    "http://" + a.adminLis.Addr().String(),
		maintenance: cfg.MaintenanceFile,
		client:      &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second},
		health:      healthgrpc.NewHealthClient(conn),
		conn:        conn,
	}
	t.Cleanup(func() {
		_ = conn.Close()
		s.client.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service stopped with %v, want a clean shutdown", err)
		}
	})
	s.eventually(t, "the service to become ready", func() bool {
		code, _, _ := s.get(t, s.adminURL+"/readyz")
		return code == http.StatusOK
	})
	return s
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

// syncBuffer collects the service's log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON log lines whose fields include every pair of want.
func (b *syncBuffer) lines(want map[string]string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(b.buf.String(), "\n") {
		var fields map[string]any
		if json.Unmarshal([]byte(line), &fields) != nil {
			continue
		}
		match := true
		for k, v := range want {
			if fields[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, fields)
		}
	}
	return out
}

func (s *service) do(t *testing.T, method, url, key string, body string, headers ...string) response {
	t.Helper()
	r, err := s.try(method, url, key, body, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// try is do for goroutines other than the test's: it returns the error
// instead of failing the test.
func (s *service) try(method, url, key string, body string, headers ...string) (response, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: reading the body: %w", method, url, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (s *service) get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	r := s.do(t, http.MethodGet, url, "", "")
	return r.code, string(r.body), r.header
}

func (s *service) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *service) grpcStatus(t *testing.T, service string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	resp, err := s.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		t.Fatalf("grpc health Check(%q): %v", service, err)
	}
	return resp.GetStatus()
}

func orderBody(clientID, orderSN string, quantity int) string {
	b, _ := json.Marshal(map[string]any{
		"client_id": clientID, "order_sn": orderSN, "sku": "BOOK-42",
		"quantity": quantity, "amount_minor": 1999 * quantity, "currency": "EUR",
	})
	return string(b)
}

func problem(t *testing.T, r response, wantStatus int, wantReason string) gateway.Problem {
	t.Helper()
	if r.code != wantStatus {
		t.Fatalf("status = %d, want %d; body %s", r.code, wantStatus, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != gateway.ProblemContentType {
		t.Fatalf("Content-Type = %q, want %q", ct, gateway.ProblemContentType)
	}
	var p gateway.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body %s: %v", r.body, err)
	}
	if p.Reason != wantReason || p.Status != wantStatus {
		t.Fatalf("problem = %+v, want reason %s", p, wantReason)
	}
	return p
}

func TestEndToEnd(t *testing.T) {
	s := startService(t)
	orders := s.httpURL + "/v1/orders"
	contract := loadContract(t)
	post := http.Header{"Content-Type": {"application/json"}}

	t.Run("health endpoints", func(t *testing.T) {
		if code, body, _ := s.get(t, s.adminURL+"/livez"); code != 200 || body != "ok\n" {
			t.Fatalf("/livez = %d %q", code, body)
		}
		code, body, _ := s.get(t, s.adminURL+"/readyz?verbose")
		if code != 200 || !strings.Contains(body, "[+]orders ok") || !strings.Contains(body, "[+]maintenance ok") {
			t.Fatalf("/readyz?verbose = %d:\n%s", code, body)
		}
		if code, _, _ := s.get(t, s.adminURL+"/readyz/orders"); code != 200 {
			t.Fatalf("/readyz/orders = %d", code)
		}
		code, body, _ = s.get(t, s.adminURL+"/healthz")
		var h struct {
			Status    string                     `json:"status"`
			Service   string                     `json:"service"`
			Version   string                     `json:"version"`
			UptimeSec *float64                   `json:"uptime_sec"`
			DBPingMS  *float64                   `json:"db_ping_ms"`
			Checks    map[string]json.RawMessage `json:"checks"`
		}
		if err := json.Unmarshal([]byte(body), &h); err != nil {
			t.Fatalf("/healthz %s: %v", body, err)
		}
		if code != 200 || h.Status != "ok" || h.Service != "order" || h.Version != "e2e" || h.UptimeSec == nil ||
			h.DBPingMS == nil || *h.DBPingMS < 0 || len(h.Checks) != 2 {
			t.Fatalf("/healthz = %d %s", code, body)
		}
		for _, svc := range []string{"", "order.v1.OrderService"} {
			if got := s.grpcStatus(t, svc); got != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("grpc health %q = %v, want SERVING", svc, got)
			}
		}
		// Reflection is what grpcurl uses for the documented health check.
		stream, err := reflectionpb.NewServerReflectionClient(s.conn).ServerReflectionInfo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		_ = stream.CloseSend()
		var names []string
		for _, svc := range resp.GetListServicesResponse().GetService() {
			names = append(names, svc.GetName())
		}
		for _, want := range []string{"grpc.health.v1.Health", "order.v1.OrderService"} {
			if !slices.Contains(names, want) {
				t.Errorf("reflection lists %v, want %s", names, want)
			}
		}
	})

	var firstOrderID string
	t.Run("same key twice creates one order and replays the response", func(t *testing.T) {
		before := s.app.store.Len()
		first := s.do(t, http.MethodPost, orders, `"k1"`, orderBody("shop-1", "SN-1", 1))
		if first.code != 200 {
			t.Fatalf("first create = %d %s", first.code, first.body)
		}
		second := s.do(t, http.MethodPost, orders, `"k1"`, orderBody("shop-1", "SN-1", 1))
		if second.code != 200 || !bytes.Equal(first.body, second.body) {
			t.Fatalf("second create = %d %s, want the first response %s", second.code, second.body, first.body)
		}
		contract.conforms(t, http.MethodPost, orders, post, first)
		if got := s.app.store.Len() - before; got != 1 {
			t.Fatalf("%d orders created, want 1", got)
		}
		var o struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(first.body, &o)
		firstOrderID = o.ID
		r := s.do(t, http.MethodGet, orders+"/"+o.ID, "", "")
		if r.code != 200 || !strings.Contains(string(r.body), `"SN-1"`) {
			t.Fatalf("GET the order = %d %s", r.code, r.body)
		}
		contract.conforms(t, http.MethodGet, orders+"/"+o.ID, nil, r)
	})

	t.Run("gRPC retry of an HTTP call with the same key is replayed", func(t *testing.T) {
		before := s.app.store.Len()
		ctx := metadata.AppendToOutgoingContext(context.Background(), "idempotency-key", `"k1"`)
		o, err := orderv1.NewOrderServiceClient(s.conn).CreateOrder(ctx, &orderv1.CreateOrderRequest{
			ClientId: "shop-1", OrderSn: "SN-1", Sku: "BOOK-42", Quantity: 1, AmountMinor: 1999, Currency: "EUR",
		})
		if err != nil || o.GetId() != firstOrderID {
			t.Fatalf("gRPC CreateOrder = %v, %v; want the HTTP call's order %s", o, err, firstOrderID)
		}
		if s.app.store.Len() != before {
			t.Fatal("the gRPC retry created an order")
		}
	})

	t.Run("trace headers cross the gateway into the governed call", func(t *testing.T) {
		tests := []struct {
			name    string
			traceID string
			headers []string
		}{
			{name: "W3C", traceID: "4bf92f3577b34da6a3ce929d0e0e4736", headers: []string{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
			{name: "B3 multi", traceID: "463ac35c9f6413ad48485a3953bb6124", headers: []string{"X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124", "X-B3-SpanId", "a2fb4a1d1a96d312", "X-B3-Sampled", "1"}},
			{name: "B3 single", traceID: "80f198ee56343ba864fe8b2a57d3eff7", headers: []string{"b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := s.do(t, http.MethodGet, orders+"/"+firstOrderID, "", "", tt.headers...)
				if r.code != 200 {
					t.Fatalf("GetOrder = %d %s", r.code, r.body)
				}
				s.eventually(t, "the call's log line", func() bool {
					return len(s.logs.lines(map[string]string{"method": "/order.v1.OrderService/GetOrder", "trace_id": tt.traceID})) == 1
				})
			})
		}
	})

	t.Run("in-flight duplicate is 409 with Retry-After", func(t *testing.T) {
		before := s.app.store.Len()
		var wg sync.WaitGroup
		var first, dup response
		var firstErr, dupErr error
		wg.Go(func() { first, firstErr = s.try(http.MethodPost, orders, `"k2"`, orderBody("shop-1", "SN-2", 1)) })
		time.Sleep(createLatency / 6) // the first call is now (very likely) inside CreateOrder
		wg.Go(func() { dup, dupErr = s.try(http.MethodPost, orders, `"k2"`, orderBody("shop-1", "SN-2", 1)) })
		wg.Wait()
		if err := errors.Join(firstErr, dupErr); err != nil {
			t.Fatal(err)
		}
		// Whichever claimed the key first ran; the other was turned away.
		if first.code == http.StatusConflict {
			first, dup = dup, first
		}
		if first.code != 200 {
			t.Fatalf("create = %d %s / %d %s, want one 200 and one 409", first.code, first.body, dup.code, dup.body)
		}
		problem(t, dup, http.StatusConflict, errinfo.IdempotencyInFlight)
		contract.conforms(t, http.MethodPost, orders, post, dup)
		if dup.header.Get("Retry-After") == "" {
			t.Fatal("409 without Retry-After")
		}
		if got := s.app.store.Len() - before; got != 1 {
			t.Fatalf("%d orders created, want 1", got)
		}
	})

	t.Run("same key with another body is 422", func(t *testing.T) {
		before := s.app.store.Len()
		r := s.do(t, http.MethodPost, orders, `"k1"`, orderBody("shop-1", "SN-1", 5))
		problem(t, r, http.StatusUnprocessableEntity, errinfo.IdempotencyKeyReused)
		contract.conforms(t, http.MethodPost, orders, post, r)
		if s.app.store.Len() != before {
			t.Fatal("a reused key created an order")
		}
	})

	t.Run("missing required key is 400", func(t *testing.T) {
		// No header, and no client_id / order_sn to derive the key from.
		// The gateway forwards the caller's key or none (never a minted
		// one), so every retry is refused and no order is created.
		body := `{"sku":"BOOK-42","quantity":1,"amount_minor":1999,"currency":"EUR"}`
		before := s.app.store.Len()
		for range 3 {
			r := s.do(t, http.MethodPost, orders, "", body)
			problem(t, r, http.StatusBadRequest, errinfo.IdempotencyKeyMissing)
			contract.conforms(t, http.MethodPost, orders, post, r)
		}
		if n := s.app.store.Len() - before; n != 0 {
			t.Fatalf("POSTs without a key created %d orders", n)
		}
	})

	t.Run("every gateway error is problem+json", func(t *testing.T) {
		before := s.app.store.Len()
		for _, tc := range []struct {
			name, method, url, body string
			status                  int
			grpcCode                string
		}{
			{"malformed JSON", http.MethodPost, orders, `{"client_id":"shop-1",`, 400, "INVALID_ARGUMENT"},
			{"wrong JSON type", http.MethodPost, orders, `{"client_id":"shop-1","order_sn":"SN-x","quantity":"many"}`, 400, "INVALID_ARGUMENT"},
			{"unknown route", http.MethodGet, s.httpURL + "/v1/nothing", "", 404, "NOT_FOUND"},
			{"wrong method", http.MethodPut, orders, `{}`, 405, "UNIMPLEMENTED"},
			{"unknown order", http.MethodGet, orders + "/ord_missing", "", 404, "NOT_FOUND"},
		} {
			r := s.do(t, tc.method, tc.url, `"k-`+tc.name+`"`, tc.body)
			p := problem(t, r, tc.status, "")
			if p.Type != "about:blank" || p.Title != http.StatusText(tc.status) || p.GRPCCode != tc.grpcCode || p.Detail == "" {
				t.Errorf("%s: problem %+v, want about:blank %q %s with a detail", tc.name, p, http.StatusText(tc.status), tc.grpcCode)
			}
		}
		if s.app.store.Len() != before {
			t.Fatal("a rejected request created an order")
		}
	})

	t.Run("key derived from client_id and order_sn deduplicates header-less retries", func(t *testing.T) {
		before := s.app.store.Len()
		a := s.do(t, http.MethodPost, orders, "", orderBody("shop-9", "SN-9", 1))
		b := s.do(t, http.MethodPost, orders, "", orderBody("shop-9", "SN-9", 1))
		if a.code != 200 || !bytes.Equal(a.body, b.body) || s.app.store.Len()-before != 1 {
			t.Fatalf("derived-key retries: %d %s / %d %s, %d orders", a.code, a.body, b.code, b.body, s.app.store.Len()-before)
		}
	})

	t.Run("rate-limited route is 429 with Retry-After", func(t *testing.T) {
		// Bursts of concurrent calls: a 10 rps / burst 10 limit admits about
		// ten of each, however slowly a loaded machine serves them.
		var limited response
		for round := 0; round < 5 && limited.code == 0; round++ {
			results := make([]response, 30)
			errs := make([]error, len(results))
			var wg sync.WaitGroup
			for i := range results {
				wg.Go(func() { results[i], errs[i] = s.try(http.MethodGet, orders+"?page_size=1", "", "") })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				switch r.code {
				case http.StatusTooManyRequests:
					limited = r
				case http.StatusOK:
					contract.conforms(t, http.MethodGet, orders+"?page_size=1", nil, r)
				default:
					t.Fatalf("ListOrders = %d %s", r.code, r.body)
				}
			}
		}
		if limited.code == 0 {
			t.Fatal("5 bursts of 30 concurrent calls to a 10 rps route were never limited")
		}
		p := problem(t, limited, http.StatusTooManyRequests, errinfo.RateLimited)
		contract.conforms(t, http.MethodGet, orders+"?page_size=1", nil, limited)
		if limited.header.Get("Retry-After") == "" || p.RetryAfterSec < 1 {
			t.Fatalf("429 without Retry-After: %v %+v", limited.header, p)
		}
	})

	t.Run("metrics carry the const labels and only route templates", func(t *testing.T) {
		code, body, _ := s.get(t, s.adminURL+"/debug/metrics")
		if code != 200 {
			t.Fatalf("/debug/metrics = %d", code)
		}
		routeLabel := regexp.MustCompile(`route="([^"]*)"`)
		var httpLines int
		for line := range strings.SplitSeq(body, "\n") {
			if strings.HasPrefix(line, "#") || line == "" {
				continue
			}
			for _, label := range []string{`service="order"`, `env="test"`, `region="test-1"`} {
				if !strings.Contains(line, label) {
					t.Errorf("series without %s: %s", label, line)
				}
			}
			if !strings.HasPrefix(line, "http_request_duration_seconds") {
				continue
			}
			httpLines++
			m := routeLabel.FindStringSubmatch(line)
			if m == nil || !slices.Contains([]string{"/v1/orders", "/v1/orders/{id}"}, m[1]) {
				t.Errorf("HTTP series with a route that is not a template: %s", line)
			}
			if firstOrderID != "" && strings.Contains(line, firstOrderID) {
				t.Errorf("raw path in a series: %s", line)
			}
		}
		if httpLines == 0 {
			t.Fatal("no http_request_duration_seconds series")
		}
		for _, line := range strings.Split(body, "\n") {
			if line != "" && !strings.HasPrefix(line, "#") && !strings.Contains(line, `{service="order",env="test",region="test-1"`) {
				t.Errorf("series without the label triple first: %s", line)
			}
		}
		for _, want := range []string{
			// service, env and region first (metrics.ServiceLabelsFirst), so
			// grep '{service="order"' finds every series of the service.
			`http_request_duration_seconds_count{service="order",env="test",region="test-1",code="200",method="POST",route="/v1/orders"}`,
			`http_request_duration_seconds_count{service="order",env="test",region="test-1",code="429",method="GET",route="/v1/orders"}`,
			`route="/v1/orders/{id}"`,
			`grpc_server_handled_total{`,
			`govern_idempotency_total{`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/debug/metrics lacks %s", want)
			}
		}
	})

	t.Run("failing readiness check flips readyz and grpc health", func(t *testing.T) {
		if err := os.WriteFile(s.maintenance, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		s.eventually(t, "/readyz to fail", func() bool {
			code, body, _ := s.get(t, s.adminURL+"/readyz?verbose")
			return code == http.StatusServiceUnavailable && strings.Contains(body, "[-]maintenance failed")
		})
		for _, svc := range []string{"", "order.v1.OrderService"} {
			if got := s.grpcStatus(t, svc); got != healthpb.HealthCheckResponse_NOT_SERVING {
				t.Fatalf("grpc health %q = %v, want NOT_SERVING", svc, got)
			}
		}
		if code, body, _ := s.get(t, s.adminURL+"/healthz"); code != 503 || !strings.Contains(body, `"status":"fail"`) {
			t.Fatalf("/healthz = %d %s", code, body)
		}
		if code, _, _ := s.get(t, s.adminURL+"/livez"); code != 200 {
			t.Fatalf("/livez = %d: a failing dependency must not restart the process", code)
		}
		if err := os.Remove(s.maintenance); err != nil {
			t.Fatal(err)
		}
		s.eventually(t, "/readyz to recover", func() bool {
			code, _, _ := s.get(t, s.adminURL+"/readyz")
			return code == http.StatusOK
		})
		if got := s.grpcStatus(t, ""); got != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("grpc health after recovery = %v, want SERVING", got)
		}
	})
}
