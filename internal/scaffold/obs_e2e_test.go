//go:build unix

package scaffold

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/govkit/govern/runtime/tracing/otlp/otlptest"
)

// TestObservabilityEndToEnd scaffolds a gold-tier `payment` service with
// its gateway, builds it, runs it in env production with its traces sent
// to an in-process OTLP receiver, and checks what an operator relies on:
//   - every series of /debug/metrics carries service, env and region, and
//     the guide's `grep 'http_request_duration_seconds_count{service="payment"'`
//     matches;
//   - gold methods (100% by policy) sample at most the config's 1% of
//     root calls in production, while a caller's sampled trace is continued;
//   - spans leave the process over OTLP and are flushed on SIGTERM;
//   - every log line is JSON with an RFC 3339 time and a lower-case level,
//     and call lines carry trace_id and span_id;
//   - canary traffic (x-canary: true, over gRPC and HTTP) trips its own
//     breaker of a method while production's stays closed and served, and
//     the trip is logged and exported with cb_name, group, state,
//     fail_ratio and the tripping call's trace_id (tripCanaryBreaker,
//     checkBreakerAuditLog). It shares this test's build: a scaffold build
//     costs tens of seconds of CI.
func TestObservabilityEndToEnd(t *testing.T) {
	root, gitBin := goOnlyEnv(t)

	out := filepath.Join(t.TempDir(), "payment")
	newCommittedService(t, gitBin, root, Options{Name: "payment", OutDir: out, GovernPath: root, HTTP: true, Tier: "gold"})
	injectStoreFault(t, out)
	bin := filepath.Join(out, "bin", "payment")
	goCmd(t, out, "build", "-o", bin, "./cmd/payment")

	config, err := os.ReadFile(filepath.Join(out, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	production := strings.Replace(string(config), "env: development", "env: production", 1)
	if production == string(config) || !strings.Contains(production, "sampling: 0.01") {
		t.Fatalf("scaffolded config.yaml has no `env: development` and `sampling: 0.01` to start from:\n%s", config)
	}
	if err := os.WriteFile(filepath.Join(out, "config.yaml"), []byte(production), 0o644); err != nil {
		t.Fatal(err)
	}

	receiver := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.Endpoint())
	grpcAddr, httpAddr, adminAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	proc, logs := startCapturing(t, out, bin, "-grpc-addr", grpcAddr, "-http-addr", httpAddr, "-admin-addr", adminAddr, "-drain-delay", "100ms")
	waitOK(t, "http://"+adminAddr+"/readyz")

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	getItem := "/payment.v1.PaymentService/GetItem"
	// 300 root calls of a gold method (NOT_FOUND: no such item).
	const roots = 300
	for range roots {
		_ = conn.Invoke(t.Context(), getItem, &emptypb.Empty{}, &emptypb.Empty{})
	}
	// One call whose caller sampled it: continued whatever the cap.
	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	traced := metadata.AppendToOutgoingContext(t.Context(), "traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	_ = conn.Invoke(traced, getItem, &emptypb.Empty{}, &emptypb.Empty{})
	resp, err := http.Get("http://" + httpAddr + "/v1/items/no-such-item")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	trip := tripCanaryBreaker(t, conn, getItem, httpAddr, adminAddr)

	// 1. Labels on every series, and the guide's grep.
	scrape := get(t, "http://"+adminAddr+"/debug/metrics")
	if !strings.Contains(scrape, `http_request_duration_seconds_count{service="payment"`) {
		t.Errorf("grep 'http_request_duration_seconds_count{service=\"payment\"' finds nothing in /debug/metrics:\n%s", grepLines(scrape, "http_request_duration_seconds_count"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(scrape))
	if err != nil {
		t.Fatalf("parse /debug/metrics: %v", err)
	}
	if len(families) < 10 {
		t.Fatalf("only %d families scraped", len(families))
	}
	want := map[string]string{"service": "payment", "env": "production", "region": "us-west-2"}
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("series %s%v has %s=%q, want %q", name, got, k, got[k], v)
				}
			}
		}
	}

	stopService(t, proc) // flushes the spans still buffered

	// 2 and 3. Spans left the process; production capped the gold method.
	spans := receiver.WaitFor(1, 10*time.Second)
	continued, rootSpans := 0, 0
	for _, s := range spans {
		if slices.Contains(trip.traces, s.TraceID) {
			continue // sampled by the canary calls' callers
		}
		if s.Service != "payment" {
			t.Errorf("span %+v: service.name is not payment", s)
		}
		if s.TraceID == callerTrace {
			continued++
			if s.ParentSpanID != callerSpan || s.Name != "payment.v1.PaymentService/GetItem" {
				t.Errorf("continued span %+v: want GetItem with the caller's span as parent", s)
			}
		} else {
			rootSpans++
		}
	}
	if continued != 1 {
		t.Errorf("the caller's sampled trace exported %d spans, want 1", continued)
	}
	// 1% of 301 roots (300 gRPC + 1 gateway): about 3; 100% without the cap.
	if rootSpans > 20 {
		t.Errorf("%d of %d gold root calls traced in production, want about 1%%", rootSpans, roots+1)
	}

	// 4. One JSON logger: RFC 3339 time, lower-case level, trace ids.
	lines := logs()
	if len(lines) < 3 {
		t.Fatalf("service wrote %d log lines", len(lines))
	}
	sawTraced := false
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", l)
			continue
		}
		ts, _ := rec["time"].(string)
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			t.Errorf("log line time %q is not RFC 3339: %s", ts, l)
		}
		switch rec["level"] {
		case "debug", "info", "warn", "error":
		default:
			t.Errorf("log line level %v is not lower case: %s", rec["level"], l)
		}
		if rec["service"] != "payment" {
			t.Errorf("log line without service=payment: %s", l)
		}
		if rec["trace_id"] == callerTrace && rec["span_id"] != nil && rec["method"] == getItem {
			sawTraced = true
		}
	}
	if !sawTraced {
		t.Errorf("no call line with trace_id %s and span_id among:\n%s", callerTrace, strings.Join(lines, "\n"))
	}

	// 5. The canary breaker's trip in the log.
	checkBreakerAuditLog(t, lines, getItem, trip)
}

// startCapturing starts the built service like startService and returns
// a function giving the lines it wrote to stderr so far.
func startCapturing(t *testing.T, dir, bin string, args ...string) (*exec.Cmd, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var lines []string
	cmd, done := startReading(t, dir, bin, func(line string) {
		mu.Lock()
		lines = append(lines, line)
		mu.Unlock()
	}, append([]string{"-config", "config.yaml"}, args...)...)
	return cmd, func() []string {
		<-done // stderr closes when the process exits
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), lines...)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
