package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/policy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testMethod() *policy.Method {
	return &policy.Method{
		FullMethod: "/shop.v1.Orders/Create", Service: "shop.v1.Orders", Name: "Create", Tier: policy.TierGold,
		RateLimit:      &policy.RateLimit{RPS: 10},
		CircuitBreaker: &policy.CircuitBreaker{},
	}
}

func TestSeriesPrecreatedWithConstLabels(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewServerMetrics()
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"service": "shop", "env": "prod", "region": "eu-west-1"}, reg)
	if err := wrapped.Register(m); err != nil {
		t.Fatal(err)
	}
	m.Method(testMethod())
	m.Method(&policy.Method{FullMethod: "/shop.v1.Orders/Watch", Service: "shop.v1.Orders", Name: "Watch", ServerStreaming: true})

	counts := map[string]int{StartedTotal: 2, HandledTotal: 2 * 17, HandlingSeconds: 2, MsgReceivedTotal: 2, MsgSentTotal: 2, RateLimitRejected: 1, BreakerState: 1}
	for name, want := range counts {
		if got, err := testutil.GatherAndCount(reg, name); err != nil || got != want {
			t.Errorf("%s: %d series (err %v), want %d", name, got, err, want)
		}
	}
	want := `
# HELP grpc_server_started_total Total number of RPCs started on the server.
# TYPE grpc_server_started_total counter
grpc_server_started_total{env="prod",grpc_method="Create",grpc_service="shop.v1.Orders",grpc_type="unary",region="eu-west-1",service="shop",tier="gold"} 0
grpc_server_started_total{env="prod",grpc_method="Watch",grpc_service="shop.v1.Orders",grpc_type="server_stream",region="eu-west-1",service="shop",tier="unspecified"} 0
# HELP govern_breaker_state State of a govern circuit breaker: 0 closed, 1 half-open, 2 open.
# TYPE govern_breaker_state gauge
govern_breaker_state{env="prod",grpc_method="Create",grpc_service="shop.v1.Orders",region="eu-west-1",service="shop",tier="gold"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), StartedTotal, BreakerState); err != nil {
		t.Fatal(err)
	}
}

func TestRecording(t *testing.T) {
	m := NewServerMetrics(WithHistogramBuckets([]float64{0.1, 1}))
	s := m.Method(testMethod())
	s.Started()
	s.Handled(codes.NotFound, 50*time.Millisecond)
	s.Handled(codes.Code(99), time.Second) // out of range: counted as Unknown
	s.RateLimited()
	s.SetBreakerState(2)
	s.Received()
	s.Sent()
	s.Sent()

	checks := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"started", m.started.WithLabelValues("unary", "shop.v1.Orders", "Create", "gold"), 1},
		{"handled NotFound", m.handled.WithLabelValues("unary", "shop.v1.Orders", "Create", "gold", "NotFound"), 1},
		{"handled Unknown", m.handled.WithLabelValues("unary", "shop.v1.Orders", "Create", "gold", "Unknown"), 1},
		{"received", m.msgReceived.WithLabelValues("unary", "shop.v1.Orders", "Create", "gold"), 1},
		{"sent", m.msgSent.WithLabelValues("unary", "shop.v1.Orders", "Create", "gold"), 2},
		{"rate limited", m.rateLimited.WithLabelValues("shop.v1.Orders", "Create", "gold", "local"), 1},
		{"breaker state", m.breakerState.WithLabelValues("shop.v1.Orders", "Create", "gold"), 2},
	}
	for _, c := range checks {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	// A method without limit or breaker has no such series and ignores them.
	plain := m.Method(&policy.Method{Service: "s", Name: "m"})
	plain.RateLimited()
	plain.SetBreakerState(1)
	if n := testutil.CollectAndCount(m.rateLimited); n != 1 {
		t.Errorf("rate-limit series = %d, want 1", n)
	}
}

func TestType(t *testing.T) {
	tests := []struct {
		client, server bool
		want           string
	}{
		{false, false, "unary"}, {true, false, "client_stream"}, {false, true, "server_stream"}, {true, true, "bidi_stream"},
	}
	for _, tt := range tests {
		if got := Type(&policy.Method{ClientStreaming: tt.client, ServerStreaming: tt.server}); got != tt.want {
			t.Errorf("Type(%v,%v) = %q, want %q", tt.client, tt.server, got, tt.want)
		}
	}
}

func BenchmarkStartedHandled(b *testing.B) {
	s := NewServerMetrics().Method(testMethod())
	b.ReportAllocs()
	for b.Loop() {
		s.Started()
		s.Handled(codes.OK, time.Millisecond)
	}
}

// TestWithoutCallSeries: a governor that only admits (httpgovern's)
// exports its breaker and rate-limit series and no gRPC call series, and
// recording calls on its methods is harmless.
func TestWithoutCallSeries(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewServerMetrics(WithoutCallSeries())
	if err := reg.Register(m); err != nil {
		t.Fatal(err)
	}
	s := m.Method(testMethod())
	s.Started()
	s.Received()
	s.Handled(codes.Internal, time.Millisecond)
	s.Sent()
	s.RateLimited()
	s.SetBreakerState(2)
	counts := map[string]int{StartedTotal: 0, HandledTotal: 0, HandlingSeconds: 0, MsgReceivedTotal: 0, MsgSentTotal: 0, RateLimitRejected: 1, BreakerState: 1}
	for name, want := range counts {
		if got, err := testutil.GatherAndCount(reg, name); err != nil || got != want {
			t.Errorf("%s: %d series (err %v), want %d", name, got, err, want)
		}
	}
	if v := testutil.ToFloat64(m.rateLimited); v != 1 {
		t.Errorf("rate-limit rejections = %v, want 1", v)
	}
}
