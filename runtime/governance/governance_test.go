package governance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/internal/redistest"
	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/breaker"
	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/logging"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/ratelimit"
	"github.com/govkit/govern/runtime/ratelimit/redislimit"
	"github.com/govkit/govern/runtime/tracing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testTable() policy.Table {
	return policy.Merge(testv1.OrderServicePolicy, testv1.InventoryServicePolicy)
}

func newGovernor(t *testing.T, opts ...governance.Option) (*governance.Governor, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	opts = append([]governance.Option{
		governance.WithService("orders", "test", "local-1"),
		governance.WithLogger(logging.New(logs, slog.LevelInfo)),
	}, opts...)
	g, err := governance.New(testTable(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return g, logs
}

func TestTimeoutIsMinOfIncomingAndPolicy(t *testing.T) {
	g, _ := newGovernor(t)
	env := startServer(t, g)
	tests := []struct {
		name     string
		incoming time.Duration
		delay    time.Duration
		wantCode codes.Code
		maxTime  time.Duration
	}{
		{"fast handler within the policy", time.Second, 0, codes.OK, time.Second},
		{"slow handler hits the 200ms policy deadline", 5 * time.Second, 2000, codes.DeadlineExceeded, 1500 * time.Millisecond},
		{"shorter incoming deadline wins", 50 * time.Millisecond, 2000, codes.DeadlineExceeded, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.incoming)
			defer cancel()
			began := time.Now()
			_, err := env.client.SlowReport(ctx, &testv1.SlowReportRequest{Name: "q3", DelayMs: int64(tt.delay)})
			if status.Code(err) != tt.wantCode {
				t.Fatalf("got %v, want %v", err, tt.wantCode)
			}
			if took := time.Since(began); took > tt.maxTime {
				t.Fatalf("took %v, want under %v", took, tt.maxTime)
			}
		})
	}
	// The server saw its own deadline: the policy one ended the handler.
	if got := testutil.ToFloat64(handled(t, g, "SlowReport", "DeadlineExceeded")); got < 1 {
		t.Errorf("server recorded %v DEADLINE_EXCEEDED calls of SlowReport, want >= 1", got)
	}
}

func TestDeadlineSeenByHandler(t *testing.T) {
	g, _ := newGovernor(t)
	const slowReport = "/govern.test.v1.OrderService/SlowReport" // policy 200ms
	tests := []struct {
		name     string
		incoming time.Duration
		want     time.Duration
	}{
		{"policy shortens a generous caller", time.Hour, 200 * time.Millisecond},
		{"caller's shorter deadline is kept", 50 * time.Millisecond, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.incoming)
			defer cancel()
			began := time.Now()
			var got time.Duration
			_, err := g.UnaryServerInterceptor()(ctx, &testv1.SlowReportRequest{}, unaryInfo(slowReport), func(ctx context.Context, _ any) (any, error) {
				d, ok := ctx.Deadline()
				if !ok {
					t.Fatal("handler context has no deadline")
				}
				got = d.Sub(began)
				return &testv1.SlowReportResponse{}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got > tt.want+50*time.Millisecond || got < tt.want-100*time.Millisecond {
				t.Fatalf("handler deadline in %v, want about %v", got, tt.want)
			}
		})
	}
}

func TestRateLimitBurst(t *testing.T) {
	g, _ := newGovernor(t)
	env := startServer(t, g)
	// Burst 5 at 5/s: the first 5 calls pass; a call made within 200ms of
	// the burst is rejected (under load a token may have refilled, so keep
	// calling until the first rejection and bound how many got through).
	began := time.Now()
	var err error
	admitted := 0
	for range 20 {
		if _, err = env.client.ReserveStock(context.Background(), &testv1.ReserveStockRequest{Sku: "a"}); err != nil {
			break
		}
		admitted++
	}
	if maxAdmitted := 5 + int(time.Since(began).Seconds()*5); admitted < 5 || admitted > maxAdmitted {
		t.Fatalf("%d calls admitted before the first rejection, want 5..%d", admitted, maxAdmitted)
	}
	if status.Code(err) != codes.ResourceExhausted || !errinfo.Is(err, errinfo.RateLimited) || errinfo.RetryAfter(err) <= 0 {
		t.Fatalf("call after the burst: %v, want RESOURCE_EXHAUSTED / RATE_LIMITED with RetryInfo", err)
	}
	if n := env.orders.callCount("ReserveStock"); n != admitted {
		t.Errorf("handler ran %d times, want %d", n, admitted)
	}
	want := `
# HELP govern_ratelimit_rejected_total Total number of calls rejected by a govern rate limit (RESOURCE_EXHAUSTED, reason RATE_LIMITED).
# TYPE govern_ratelimit_rejected_total counter
govern_ratelimit_rejected_total{env="test",grpc_method="GetStock",grpc_service="govern.test.v1.InventoryService",region="local-1",scope="distributed",service="orders",tier="gold"} 0
govern_ratelimit_rejected_total{env="test",grpc_method="ReserveStock",grpc_service="govern.test.v1.OrderService",region="local-1",scope="local",service="orders",tier="silver"} 1
govern_ratelimit_rejected_total{env="test",grpc_method="SyncOrders",grpc_service="govern.test.v1.OrderService",region="local-1",scope="local",service="orders",tier="silver"} 0
`
	if err := testutil.GatherAndCompare(g.Gatherer(), strings.NewReader(want), "govern_ratelimit_rejected_total"); err != nil {
		t.Fatal(err)
	}
}

func TestBreakerOpensAndRecoversHalfOpen(t *testing.T) {
	g, logs := newGovernor(t)
	env := startServer(t, g)
	charge := func(fail codes.Code) error {
		_, err := env.client.ChargePayment(context.Background(), &testv1.ChargePaymentRequest{OrderId: "o", FailCode: uint32(fail)})
		return err
	}
	for range 4 { // min_requests 4, ratio 0.5
		if err := charge(codes.Unavailable); status.Code(err) != codes.Unavailable || errinfo.Is(err, errinfo.CircuitOpen) {
			t.Fatalf("failing call: %v", err)
		}
	}
	err := charge(codes.OK)
	if status.Code(err) != codes.Unavailable || !errinfo.Is(err, errinfo.CircuitOpen) {
		t.Fatalf("call after 4 failures: %v, want UNAVAILABLE / CIRCUIT_OPEN", err)
	}
	if n := env.orders.callCount("ChargePayment"); n != 4 {
		t.Errorf("handler ran %d times, want 4 (the open breaker must not call it)", n)
	}
	assertBreakerGauge(t, g, breaker.Open)

	time.Sleep(errinfo.RetryAfter(err) + 20*time.Millisecond) // open_for 200ms
	if err := charge(codes.OK); err != nil {
		t.Fatalf("half-open probe: %v", err)
	}
	assertBreakerGauge(t, g, breaker.Closed)
	if err := charge(codes.OK); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if !strings.Contains(logs.String(), `"state":"open"`) {
		t.Errorf("breaker transition not logged: %s", logs.String())
	}
}

func assertBreakerGauge(t *testing.T, g *governance.Governor, want breaker.State) {
	t.Helper()
	want64 := float64(want)
	mfs, err := g.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "govern_breaker_state" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if got := m.GetGauge().GetValue(); got != want64 {
				t.Fatalf("govern_breaker_state = %v, want %v (%v)", got, want64, want)
			}
			return
		}
	}
	t.Fatal("no govern_breaker_state series")
}

func TestPanicReturnsInternalAndServerKeepsServing(t *testing.T) {
	g, logs := newGovernor(t)
	env := startServer(t, g)
	_, err := env.client.Echo(context.Background(), &testv1.EchoRequest{Message: "x", Panic: true})
	if status.Code(err) != codes.Internal {
		t.Fatalf("panicking call: %v, want INTERNAL", err)
	}
	resp, err := env.client.Echo(context.Background(), &testv1.EchoRequest{Message: "still here"})
	if err != nil || resp.GetMessage() != "still here" {
		t.Fatalf("server stopped serving after a panic: %v %v", resp, err)
	}
	if !strings.Contains(logs.String(), "recovered from panic") || !strings.Contains(logs.String(), "orderServer") {
		t.Errorf("panic not logged with its stack: %s", logs.String())
	}
	if got := testutil.ToFloat64(handled(t, g, "Echo", "Internal")); got != 1 {
		t.Errorf("Echo INTERNAL count = %v, want 1", got)
	}
	if rcv, sent := counterValue(t, g, "grpc_server_msg_received_total", "Echo"), counterValue(t, g, "grpc_server_msg_sent_total", "Echo"); rcv != 2 || sent != 1 {
		t.Errorf("Echo messages received %v sent %v, want 2 and 1 (the panicking call sent none)", rcv, sent)
	}
}

func TestMetricsScrapeConstLabelsAndZeroSeries(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	g, _ := newGovernor(t, governance.WithRegisterer(reg))
	if g.Registry() != nil || g.Gatherer() != prometheus.Gatherer(reg) {
		t.Fatal("a caller's registry must be used and gathered, not a private one")
	}
	env := startServer(t, g)
	if _, err := env.client.Ping(context.Background(), &testv1.PingRequest{}); err != nil {
		t.Fatal(err)
	}

	governed := 0
	for _, p := range testTable() {
		if !p.Disabled {
			governed++
		}
	}
	// Every governed method has its series before any call, all 17 codes
	// of handled_total; Ping (disabled) has none.
	for name, want := range map[string]int{
		"grpc_server_started_total":    governed,
		"grpc_server_handled_total":    governed * 17,
		"grpc_server_handling_seconds": governed,
		"govern_breaker_state":         1,
	} {
		if got, err := testutil.GatherAndCount(reg, name); err != nil || got != want {
			t.Errorf("%s: %d series (%v), want %d", name, got, err, want)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["service"] != "orders" || labels["env"] != "test" || labels["region"] != "local-1" {
				t.Fatalf("%s series %v lacks the const labels", mf.GetName(), labels)
			}
			if labels["grpc_method"] == "Ping" {
				t.Fatalf("disabled method has a series: %s %v", mf.GetName(), labels)
			}
		}
	}
	if env.orders.callCount("Ping") != 1 {
		t.Fatal("disabled method's handler not called")
	}
	// Other packages register on the same labelled registerer.
	extra := prometheus.NewCounter(prometheus.CounterOpts{Name: "govern_test_extra_total", Help: "test"})
	if err := g.Registerer().Register(extra); err != nil {
		t.Fatal(err)
	}
	want := "# HELP govern_test_extra_total test\n# TYPE govern_test_extra_total counter\ngovern_test_extra_total{env=\"test\",region=\"local-1\",service=\"orders\"} 0\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "govern_test_extra_total"); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownMethodPassesThrough(t *testing.T) {
	g, _ := newGovernor(t)
	called := false
	resp, err := g.UnaryServerInterceptor()(context.Background(), "req", unaryInfo("/other.Svc/M"), func(ctx context.Context, req any) (any, error) {
		called = true
		if _, ok := ctx.Deadline(); ok {
			t.Error("ungoverned call got a deadline")
		}
		return "resp", nil
	})
	if !called || resp != "resp" || err != nil {
		t.Fatalf("pass-through: %v %v %v", called, resp, err)
	}
	if n, _ := testutil.GatherAndCount(g.Gatherer(), "grpc_server_started_total"); n != len(testTable())-1 {
		t.Fatalf("%d started series, want one per governed table method", n)
	}
}

func TestStreams(t *testing.T) {
	g, _ := newGovernor(t)
	env := startServer(t, g)

	t.Run("server stream gets its timeout and metrics", func(t *testing.T) {
		stream, err := env.client.WatchOrders(context.Background(), &testv1.WatchOrdersRequest{ClientId: "c", Count: 3})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, err := stream.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 3 {
			t.Fatalf("received %d events, want 3", n)
		}
		if got := testutil.ToFloat64(handled(t, g, "WatchOrders", "OK")); got != 1 {
			t.Errorf("WatchOrders OK = %v, want 1", got)
		}
		if got := counterValue(t, g, "grpc_server_msg_sent_total", "WatchOrders"); got != 3 {
			t.Errorf("WatchOrders messages sent = %v, want 3", got)
		}
		if got := counterValue(t, g, "grpc_server_msg_received_total", "WatchOrders"); got != 1 {
			t.Errorf("WatchOrders messages received = %v, want 1", got)
		}
	})
	t.Run("stream panic is INTERNAL", func(t *testing.T) {
		stream, err := env.client.WatchOrders(context.Background(), &testv1.WatchOrdersRequest{Count: -1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); status.Code(err) != codes.Internal {
			t.Fatalf("got %v, want INTERNAL", err)
		}
	})
	t.Run("bidi streams are rate limited at start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// Burst 10 at 100/s: open 40 streams at once so the burst is spent
		// faster than it refills, even on a loaded machine.
		var mu sync.Mutex
		limited := 0
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				stream, err := env.client.SyncOrders(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if err := stream.CloseSend(); err != nil {
					t.Error(err)
					return
				}
				_, err = stream.Recv()
				switch {
				case err == io.EOF:
				case errinfo.Is(err, errinfo.RateLimited):
					mu.Lock()
					limited++
					mu.Unlock()
				default:
					t.Errorf("stream: %v", err)
				}
			})
		}
		wg.Wait()
		if limited == 0 {
			t.Fatal("40 streams opened at once, none rate limited at burst 10")
		}
	})
}

func TestDistributedRateLimitAcrossReplicas(t *testing.T) {
	client := redistest.Client(t)
	service := fmt.Sprintf("orders-%d", time.Now().UnixNano())
	t.Cleanup(func() {
		client.Del(context.Background(), "govern:ratelimit:"+service+":/govern.test.v1.InventoryService/GetStock")
	})
	replicas := make([]*testEnv, 2)
	for i := range replicas {
		g, _ := newGovernor(t, governance.WithService(service, "test", "local-1"), governance.WithRateLimitStore(mustRedisLimit(t, client)),
			governance.WithRateLimitOptions(ratelimit.WithStoreTimeout(5*time.Second)))
		replicas[i] = startServer(t, g)
	}
	began := time.Now()
	admitted, limited := 0, 0
	for i := range 10 {
		_, err := replicas[i%2].inventory.GetStock(context.Background(), &testv1.GetStockRequest{Sku: "s"})
		switch {
		case err == nil:
			admitted++
		case errinfo.Is(err, errinfo.RateLimited):
			limited++
		default:
			t.Fatal(err)
		}
	}
	// Two replicas with local limits would admit all 10 (5 each); one
	// shared burst of 5 admits 5, plus whatever refilled at 5/s meanwhile.
	if maxAdmitted := 5 + int(time.Since(began).Seconds()*5); admitted < 5 || admitted > maxAdmitted || limited == 0 {
		t.Fatalf("two replicas admitted %d (want 5..%d) and limited %d (want > 0): the burst is not shared", admitted, maxAdmitted, limited)
	}
}

func TestDistributedRateLimitFallsBackWhenRedisIsDown(t *testing.T) {
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { _ = down.Close() })
	g, _ := newGovernor(t, governance.WithRateLimitStore(mustRedisLimit(t, down)))
	env := startServer(t, g)
	// Burst 5 at 5/s: failed Redis round trips take time, so a token or two
	// may refill while the burst is spent; a rejection must still come.
	began := time.Now()
	admitted, limited := 0, 0
	for range 15 {
		_, err := env.inventory.GetStock(context.Background(), &testv1.GetStockRequest{Sku: "s"})
		switch {
		case err == nil:
			admitted++
		case errinfo.Is(err, errinfo.RateLimited):
			limited++
		default:
			t.Fatalf("with Redis down: %v (must fall back to the local limiter)", err)
		}
	}
	if maxAdmitted := 5 + int(time.Since(began).Seconds()*5) + 1; admitted < 5 || admitted > maxAdmitted || limited == 0 {
		t.Fatalf("admitted %d (want 5..%d), limited %d (want > 0) by the local fallback", admitted, maxAdmitted, limited)
	}
	if n, _ := testutil.GatherAndCount(g.Gatherer(), "govern_ratelimit_redis_fallback_total"); n != 1 {
		t.Fatal("no fallback counter")
	}
}

func TestTracingFollowsTierAndPropagation(t *testing.T) {
	table := testTable()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tracing.NewSampler(table)), sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	g, logs := newGovernor(t, governance.WithTracerProvider(tp))
	env := startServer(t, g)

	// Gold: every call is traced.
	for range 10 {
		if _, err := env.client.CreateOrder(context.Background(), &testv1.CreateOrderRequest{ClientId: "c", Order: &testv1.Order{Sn: "1"}}); err != nil {
			t.Fatal(err)
		}
	}
	// Bronze: 1%; 100 calls give 0..~5 spans, never most of them.
	for range 100 {
		if _, err := env.client.ListOrders(context.Background(), &testv1.ListOrdersRequest{}); err != nil && status.Code(err) != codes.Unimplemented {
			t.Fatal(err)
		}
	}
	spans := map[string]int{}
	for _, s := range rec.Ended() {
		spans[s.Name()]++
	}
	if spans["govern.test.v1.OrderService/CreateOrder"] != 10 {
		t.Errorf("gold spans = %d, want 10", spans["govern.test.v1.OrderService/CreateOrder"])
	}
	if n := spans["govern.test.v1.OrderService/ListOrders"]; n > 10 {
		t.Errorf("bronze spans = %d of 100, want about 1", n)
	}

	// A B3 sampled parent is continued on a 10% method, and the error log
	// line carries its trace id.
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-b3-traceid", traceID, "x-b3-spanid", "00f067aa0ba902b7", "x-b3-sampled", "1")
	if _, err := env.client.Echo(ctx, &testv1.EchoRequest{FailCode: uint32(codes.Internal)}); status.Code(err) != codes.Internal {
		t.Fatalf("echo: %v", err)
	}
	var found bool
	for _, s := range rec.Ended() {
		if s.Name() == "govern.test.v1.OrderService/Echo" && s.SpanContext().TraceID().String() == traceID && s.Parent().IsRemote() {
			found = true
		}
	}
	if !found {
		t.Fatal("propagated B3 parent not continued by the Echo span")
	}
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(l, "/Echo") {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line["trace_id"] != traceID || line["code"] != "Internal" || line["level"] != "error" || line["span_id"] == nil {
		t.Fatalf("call log line = %v", line)
	}
}

func TestIdempotencyWired(t *testing.T) {
	g, _ := newGovernor(t)
	env := startServer(t, g)
	_, err := env.client.CreateOrder(context.Background(), &testv1.CreateOrderRequest{Order: &testv1.Order{Sn: "1"}})
	if status.Code(err) != codes.InvalidArgument || !errinfo.Is(err, errinfo.IdempotencyKeyMissing) {
		t.Fatalf("call without a key: %v, want INVALID_ARGUMENT / IDEMPOTENCY_KEY_MISSING", err)
	}
	req := &testv1.CreateOrderRequest{ClientId: "c-1", Order: &testv1.Order{Sn: "sn-1"}}
	first, err := env.client.CreateOrder(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := env.client.CreateOrder(context.Background(), req)
	if err != nil || again.GetId() != first.GetId() {
		t.Fatalf("retry of a keyed call: %v %v", again, err)
	}
	if n := env.orders.callCount("CreateOrder"); n != 1 {
		t.Fatalf("handler ran %d times for one key, want 1", n)
	}
	if n, _ := testutil.GatherAndCount(g.Gatherer(), "govern_idempotency_total"); n == 0 {
		t.Fatal("idempotency counter not registered on the governor's registerer")
	}
}

func TestDialOptionsGovernClient(t *testing.T) {
	g, _ := newGovernor(t)
	env := startServer(t, g)
	opts, err := g.DialOptions()
	conn := dial(t, env.addr, opts, err)
	resp, err := testv1.NewOrderServiceClient(conn).Echo(context.Background(), &testv1.EchoRequest{Message: "hi"})
	if err != nil || resp.GetMessage() != "hi" {
		t.Fatalf("governed client call: %v %v", resp, err)
	}
	mfs, err := g.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	clientSeries := 0
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "grpc_client_") {
			clientSeries += len(mf.GetMetric())
		}
	}
	if clientSeries == 0 {
		t.Fatal("client metrics not registered on the governor's registerer")
	}
}

func TestGovernorsShareARegistry(t *testing.T) {
	// One governor per service, as the generated SvcInterceptors build
	// them, on one registry with the same labels.
	reg := prometheus.NewRegistry()
	for _, table := range []policy.Table{testv1.OrderServicePolicy, testv1.InventoryServicePolicy} {
		if _, err := governance.New(table, governance.WithService("shop", "prod", "eu"), governance.WithRegisterer(reg),
			governance.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
			t.Fatalf("second governor on a shared registry: %v", err)
		}
	}
	if n, _ := testutil.GatherAndCount(reg, "grpc_server_started_total"); n != len(testTable())-1 {
		t.Fatalf("%d started series, want one per governed method of both services", n)
	}
}

func TestHandBuiltTableIsNamedFromKeys(t *testing.T) {
	table := policy.Table{"/shop.v1.Orders/Create": {Tier: policy.TierGold, Timeout: time.Second}}
	g, err := governance.New(table, governance.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	want := `
# HELP grpc_server_started_total Total number of RPCs started on the server.
# TYPE grpc_server_started_total counter
grpc_server_started_total{env="unknown",grpc_method="Create",grpc_service="shop.v1.Orders",grpc_type="unary",region="unknown",service="unknown",tier="gold"} 0
`
	if err := testutil.GatherAndCompare(g.Gatherer(), strings.NewReader(want), "grpc_server_started_total"); err != nil {
		t.Fatal(err)
	}
	if table["/shop.v1.Orders/Create"].FullMethod != "" {
		t.Fatal("New modified the caller's table")
	}
}

func TestWithCodeLevelLogsSuccesses(t *testing.T) {
	g, logs := newGovernor(t, governance.WithCodeLevel(func(codes.Code) slog.Level { return slog.LevelInfo }))
	env := startServer(t, g)
	if _, err := env.client.Echo(context.Background(), &testv1.EchoRequest{Message: "hi"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"code":"OK"`) {
		t.Fatalf("successful call not logged at Info: %q", logs.String())
	}
}

func TestWithIdempotencyStoreIsUsed(t *testing.T) {
	store := idempotency.NewMemoryStore()
	g, _ := newGovernor(t, governance.WithIdempotencyStore(store))
	env := startServer(t, g)
	if _, err := env.client.CreateOrder(context.Background(), &testv1.CreateOrderRequest{ClientId: "c", Order: &testv1.Order{Sn: "s"}}); err != nil {
		t.Fatal(err)
	}
	if store.Len() != 1 {
		t.Fatalf("store holds %d records, want the call's one", store.Len())
	}
}

func TestWithPropagatorReplacesTheDefault(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tracing.NewSampler(testTable())), sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	g, _ := newGovernor(t, governance.WithTracerProvider(tp), governance.WithPropagator(propagation.TraceContext{}))
	env := startServer(t, g)
	// CreateOrder is gold, so its span is recorded either way; with a
	// W3C-only propagator it starts a new trace instead of joining the B3
	// parent (the default propagator would join it).
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	ctx := metadata.AppendToOutgoingContext(context.Background(), "b3", traceID+"-00f067aa0ba902b7-1")
	if _, err := env.client.CreateOrder(ctx, &testv1.CreateOrderRequest{ClientId: "c", Order: &testv1.Order{Sn: "p"}}); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want the gold call's one", len(spans))
	}
	if spans[0].SpanContext().TraceID().String() == traceID {
		t.Fatal("B3 parent joined although the propagator is W3C only")
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := governance.New(testTable(), governance.WithService("", "prod", "eu")); err == nil {
		t.Error("empty service label accepted")
	}
	reg := prometheus.NewRegistry()
	conflicting := prometheus.NewGauge(prometheus.GaugeOpts{Name: "grpc_server_started_total", Help: "not a counter vec"})
	reg.MustRegister(conflicting)
	if _, err := governance.New(testTable(), governance.WithRegisterer(reg), governance.WithLogger(slog.New(slog.DiscardHandler))); err == nil {
		t.Error("registry with a conflicting grpc_server_started_total accepted")
	}
	bad := policy.Table{"/a.S/M": {FullMethod: "/a.S/Other"}}
	if _, err := governance.New(bad, governance.WithLogger(slog.New(slog.DiscardHandler))); err == nil {
		t.Error("mismatched table key accepted")
	}
}

func handled(t *testing.T, g *governance.Governor, method, code string) prometheus.Collector {
	t.Helper()
	return gatheredCounter{g: g, method: method, code: code}
}

// gatheredCounter reads one grpc_server_handled_total series through the
// governor's Gatherer, as a scrape would.
type gatheredCounter struct {
	prometheus.Collector
	g            *governance.Governor
	method, code string
}

func (c gatheredCounter) Describe(ch chan<- *prometheus.Desc) {}

func (c gatheredCounter) Collect(ch chan<- prometheus.Metric) {
	mfs, _ := c.g.Gatherer().Gather()
	for _, mf := range mfs {
		if mf.GetName() != "grpc_server_handled_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var method, code string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "grpc_method":
					method = l.GetValue()
				case "grpc_code":
					code = l.GetValue()
				}
			}
			if method == c.method && code == c.code {
				ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("x", "x", nil, nil), prometheus.CounterValue, m.GetCounter().GetValue())
			}
		}
	}
}

// counterValue gathers the governor's registry and returns the counter
// name of grpc_method method.
func counterValue(t *testing.T, g *governance.Governor, name, method string) float64 {
	t.Helper()
	mfs, err := g.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "grpc_method" && l.GetValue() == method {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s series for %s", name, method)
	return 0
}

func mustRedisLimit(t *testing.T, client redis.UniversalClient) *redislimit.Store {
	t.Helper()
	store, err := redislimit.New(client)
	if err != nil {
		t.Fatal(err)
	}
	return store
}
