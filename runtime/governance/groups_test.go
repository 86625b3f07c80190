package governance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/breaker"
	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/gateway"
	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/logging"
)

const chargePayment = "/govern.test.v1.OrderService/ChargePayment" // breaker: 4 requests, ratio 0.5, open 200ms

// Canary traffic (x-canary: true) trips its own breaker; production's
// stays closed and keeps serving. The trip is logged and exported with
// cb_name, group, state, fail_ratio and the tripping call's trace id.
func TestCanaryTrafficOpensOnlyTheCanaryBreaker(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	logs := &syncBuffer{}
	g, err := governance.New(testTable(), governance.WithService("orders", "test", "local-1"),
		governance.WithLogger(logging.New(logs, slog.LevelInfo)), governance.WithTracerProvider(tp),
		governance.WithTrafficGroups("x-canary", "true"))
	if err != nil {
		t.Fatal(err)
	}
	env := startServer(t, g)
	charge := func(ctx context.Context, fail codes.Code) error {
		_, err := env.client.ChargePayment(ctx, &testv1.ChargePaymentRequest{OrderId: "o", FailCode: uint32(fail)})
		return err
	}
	canary := metadata.AppendToOutgoingContext(context.Background(), "x-canary", "true")
	for range 4 {
		if err := charge(canary, codes.Internal); status.Code(err) != codes.Internal {
			t.Fatalf("failing canary call: %v", err)
		}
	}
	if err := charge(canary, codes.OK); !errinfo.Is(err, errinfo.CircuitOpen) {
		t.Fatalf("canary call after 4 failures: %v, want CIRCUIT_OPEN", err)
	}
	// Production, and a header value that was not declared, are the
	// default group: its breaker is closed.
	undeclared := metadata.AppendToOutgoingContext(context.Background(), "x-canary", "yes-please-123")
	for _, ctx := range []context.Context{context.Background(), undeclared} {
		if err := charge(ctx, codes.OK); err != nil {
			t.Fatalf("production call while the canary breaker is open: %v", err)
		}
	}
	if s := g.GroupBreaker(chargePayment, "true").State(); s != breaker.Open {
		t.Errorf("canary breaker %v, want open", s)
	}
	if s := g.Breaker(chargePayment).State(); s != breaker.Closed {
		t.Errorf("production breaker %v, want closed", s)
	}

	// The audit log line.
	var line map[string]any
	for l := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(l, "circuit breaker changed state") {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	traceID, _ := line["trace_id"].(string)
	if line["cb_name"] != chargePayment || line["group"] != "true" || line["state"] != "open" || line["fail_ratio"] != 1.0 ||
		!regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(traceID) {
		t.Fatalf("breaker audit line = %v, want cb_name, group true, state open, fail_ratio 1, a trace_id", line)
	}

	// The exported series: state by group, the trip's ratio, the
	// transition with the same trace id as exemplar; no raw header value.
	mfs, err := g.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.Metric{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
				if strings.Contains(l.GetValue(), "yes-please") {
					t.Errorf("%s carries the raw header value: %v", mf.GetName(), m)
				}
			}
			if labels["cb_name"] == chargePayment {
				got[mf.GetName()+"/"+labels["group"]+"/"+labels["state"]] = m
			}
		}
	}
	if v := got["govern_breaker_group_state/true/"].GetGauge().GetValue(); v != float64(breaker.Open) {
		t.Errorf("govern_breaker_group_state{group=true} = %v, want 2", v)
	}
	if m, ok := got["govern_breaker_group_state/default/"]; !ok || m.GetGauge().GetValue() != float64(breaker.Closed) {
		t.Errorf("govern_breaker_group_state{group=default} = %v, want 0", m)
	}
	if v := got["govern_breaker_trip_fail_ratio/true/"].GetGauge().GetValue(); v != 1 {
		t.Errorf("govern_breaker_trip_fail_ratio{group=true} = %v, want 1", v)
	}
	open := got["govern_breaker_transitions_total/true/open"].GetCounter()
	if open.GetValue() != 1 || open.GetExemplar() == nil || open.GetExemplar().GetLabel()[0].GetValue() != traceID {
		t.Errorf("govern_breaker_transitions_total{group=true,state=open} = %v, want 1 with exemplar trace_id %s", open, traceID)
	}
}

// Rate limits split the same way: the canary burst does not spend
// production's bucket.
func TestTrafficGroupsSplitRateLimits(t *testing.T) {
	g, err := governance.New(testTable(), governance.WithLogger(slog.New(slog.DiscardHandler)), governance.WithTrafficGroups("x-region", "eu", "us"))
	if err != nil {
		t.Fatal(err)
	}
	const reserve = "/govern.test.v1.OrderService/ReserveStock" // 5/s, burst 5
	admit := func(region string) error {
		h := http.Header{}
		if region != "" {
			h.Set("X-Region", region)
		}
		_, a, err := g.Admit(context.Background(), reserve, h)
		a.Done(err)
		return err
	}
	var err1 error
	for range 20 {
		if err1 = admit("eu"); err1 != nil {
			break
		}
	}
	if !errinfo.Is(err1, errinfo.RateLimited) {
		t.Fatalf("eu burst never limited: %v", err1)
	}
	if err := admit("us"); err != nil {
		t.Fatalf("us call after the eu burst: %v", err)
	}
	if err := admit(""); err != nil {
		t.Fatalf("default call after the eu burst: %v", err)
	}
}

func TestTrafficGroupDeclarationErrors(t *testing.T) {
	for _, tc := range []struct {
		header string
		values []string
		want   string
	}{
		{"", []string{"true"}, "not a header name"},
		{"x-canary", nil, "declare 0 values"},
		{"x-canary", []string{"true", "TRUE"}, "twice"},
		{"x-canary", []string{"default"}, "group of all other traffic"},
		{"x-canary", []string{" "}, "empty value"},
	} {
		_, err := governance.New(testTable(), governance.WithLogger(slog.New(slog.DiscardHandler)), governance.WithTrafficGroups(tc.header, tc.values...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("WithTrafficGroups(%q, %q): %v, want an error containing %q", tc.header, tc.values, err, tc.want)
		}
	}
}

// Through the HTTP gateway as the scaffold wires it (GatewayDialOptions,
// the group header forwarded): canary POSTs that fail and then meet the
// open canary breaker must leave production's POSTs served. A client
// breaker on the gateway's connection would count every HTTP caller as
// one group and open for production too.
func TestGatewayKeepsTrafficGroupsApart(t *testing.T) {
	g, err := governance.New(testTable(), governance.WithService("orders", "test", "local-1"),
		governance.WithLogger(slog.New(slog.DiscardHandler)), governance.WithTrafficGroups("x-canary", "true"))
	if err != nil {
		t.Fatal(err)
	}
	env := startServer(t, g)
	opts, err := g.GatewayDialOptions()
	conn := dial(t, env.addr, opts, err)
	gw := gateway.NewServeMux(gateway.WithForwardedHeaders("x-canary"))
	if err := testv1.RegisterOrderServiceGateway(context.Background(), gw, conn); err != nil {
		t.Fatal(err)
	}
	pay := func(canary string, failCode codes.Code) (int, string) {
		t.Helper()
		req := httptest.NewRequest("POST", "/v1/payments", strings.NewReader(fmt.Sprintf(`{"orderId":"o","failCode":%d}`, failCode)))
		if canary != "" {
			req.Header.Set("X-Canary", canary)
		}
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}

	for range 10 { // 4 failures open the canary breaker, 6 rejections follow
		if code, body := pay("true", codes.Internal); code < 500 {
			t.Fatalf("failing canary POST = %d %s, want 5xx", code, body)
		}
	}
	if code, body := pay("true", codes.OK); code != http.StatusServiceUnavailable || !strings.Contains(body, errinfo.CircuitOpen) {
		t.Fatalf("canary POST after its breaker opened = %d %s, want 503 %s", code, body, errinfo.CircuitOpen)
	}
	for _, canary := range []string{"", "banana"} {
		if code, body := pay(canary, codes.OK); code != http.StatusOK {
			t.Errorf("production POST (X-Canary %q) while the canary breaker is open = %d %s, want 200", canary, code, body)
		}
	}
	if s := g.Breaker(chargePayment).State(); s != breaker.Closed {
		t.Errorf("production breaker %v, want closed", s)
	}
}
