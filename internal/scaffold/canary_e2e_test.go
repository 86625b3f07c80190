//go:build unix

package scaffold

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/govkit/govern/runtime/errinfo"
)

// storeDownItem is the item id whose GetItem fails with UNAVAILABLE once
// injectStoreFault has edited the scaffolded handler: the stand-in for a
// broken item store. The breaker counts UNAVAILABLE as a failure; the
// template's NOT_FOUND is a success to it.
const storeDownItem = "store-down"

// storeFault is the code docs/observability.md tells a user to add at the
// top of GetItem in internal/server/server.go (a file the user owns).
const storeFault = `	if req.GetItemId() == "store-down" {
		return nil, status.Error(codes.Unavailable, "item store unavailable")
	}
`

// injectStoreFault adds storeFault to the scaffolded GetItem, before the
// service is built: the template's handlers have no failure a caller can
// trigger, and a test needs one to trip a breaker.
func injectStoreFault(t *testing.T, service string) {
	t.Helper()
	path := filepath.Join(service, "internal", "server", "server.go")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "\ts.mu.RLock()\n\titem, ok := s.items[req.GetItemId()]\n"
	if strings.Count(string(src), anchor) != 1 {
		t.Fatalf("%s has no single GetItem lookup %q to put the store fault before: update injectStoreFault and docs/observability.md to the template", path, anchor)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(src), anchor, storeFault+anchor, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// canaryTrip is what tripCanaryBreaker sent: the trace id of every
// failing canary call, the one whose failure tripped the breaker, and the
// failure ratio of the window at that moment.
type canaryTrip struct {
	traces    []string
	tripTrace string
	failRatio float64
}

// tripCanaryBreaker trips the canary breaker of GetItem on a service
// scaffolded with the default policy (breaker: 20 requests, ratio 0.5,
// open 5s) and config (groups: x-canary, "true"), and checks that only
// canary traffic is rejected while it is open, over gRPC and HTTP, and
// what /debug/metrics exports about it. getItem's earlier calls are all
// in the default group.
func tripCanaryBreaker(t *testing.T, conn *grpc.ClientConn, getItem, httpAddr, adminAddr string) canaryTrip {
	t.Helper()
	call := func(ctx context.Context, itemID string, md ...string) error {
		// GetItemRequest{item_id: 1} and StringValue{value: 1} are the
		// same bytes; the generated type lives in the scaffolded module.
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
		return conn.Invoke(ctx, getItem, wrapperspb.String(itemID), &emptypb.Empty{})
	}
	canary := []string{"x-canary", "true"}

	// 6 successes, then failures: the 14th failure makes 14 of 20 calls
	// (ratio 0.7 >= 0.5, min_requests 20 reached) and trips the breaker.
	const successes, failures = 6, 14
	for range successes {
		if err := call(t.Context(), "no-such-item", canary...); status.Code(err) != codes.NotFound {
			t.Fatalf("canary GetItem of a missing item: %v, want NOT_FOUND", err)
		}
	}
	trip := canaryTrip{failRatio: float64(failures) / float64(successes+failures)}
	for i := range failures {
		traceID := fmt.Sprintf("ca9a41%026x", i+1)
		trip.traces = append(trip.traces, traceID)
		traceparent := "00-" + traceID + "-00f067aa0ba902b7-01"
		err := call(t.Context(), storeDownItem, append(canary, "traceparent", traceparent)...)
		if status.Code(err) != codes.Unavailable || errinfo.Is(err, errinfo.CircuitOpen) {
			t.Fatalf("failing canary call %d: %v, want the handler's UNAVAILABLE", i+1, err)
		}
	}
	trip.tripTrace = trip.traces[failures-1]

	// Open for canary traffic (any spelling of the declared value), over
	// gRPC and through the gateway's X-Canary header.
	for _, v := range []string{"true", "TRUE"} {
		if err := call(t.Context(), "no-such-item", "x-canary", v); !errinfo.Is(err, errinfo.CircuitOpen) {
			t.Fatalf("canary call (x-canary: %s) after the trip: %v, want UNAVAILABLE CIRCUIT_OPEN", v, err)
		}
	}
	itemURL := "http://" + httpAddr + "/v1/items/"
	if code, body := httpGet(t, itemURL+"no-such-item", "X-Canary", "true"); code != http.StatusServiceUnavailable || !strings.Contains(body, errinfo.CircuitOpen) {
		t.Fatalf("canary GET through the gateway after the trip = %d %s, want 503 %s", code, body, errinfo.CircuitOpen)
	}
	// Production (no header, or a value that was not declared) is still
	// admitted on the same method: the handler runs and answers.
	for _, md := range [][]string{nil, {"x-canary", "banana"}} {
		if err := call(t.Context(), "no-such-item", md...); status.Code(err) != codes.NotFound {
			t.Errorf("production call %v while the canary breaker is open: %v, want the handler's NOT_FOUND", md, err)
		}
		if err := call(t.Context(), storeDownItem, md...); status.Code(err) != codes.Unavailable || errinfo.Is(err, errinfo.CircuitOpen) {
			t.Errorf("production call %v of the failing item: %v, want the handler's UNAVAILABLE, not CIRCUIT_OPEN", md, err)
		}
	}

	scrape := get(t, "http://"+adminAddr+"/debug/metrics")
	checkGroupSeries(t, scrape, getItem, trip.failRatio)
	// The trip's trace id leaves the process as the exemplar of the
	// transition, in the OpenMetrics format Prometheus asks for.
	_, om := httpGet(t, "http://"+adminAddr+"/debug/metrics", "Accept", "application/openmetrics-text; version=1.0.0")
	opened := grepLines(om, `govern_breaker_transitions_total{service="payment",env="production",region="us-west-2",cb_name="`+getItem+`",group="true",state="open"} 1.0 # {trace_id="`+trip.tripTrace+`"} 1.0`)
	if opened == "" {
		t.Errorf("OpenMetrics scrape has no canary open transition with exemplar trace_id %s:\n%s", trip.tripTrace, grepLines(om, "govern_breaker_transitions_total"))
	}

	// More canary calls over HTTP than a breaker's min_requests: all
	// rejected, and production's HTTP calls must still be served.
	for range 25 {
		if code, body := httpGet(t, itemURL+storeDownItem, "X-Canary", "true"); code != http.StatusServiceUnavailable {
			t.Fatalf("canary GET of the failing item = %d %s, want 503", code, body)
		}
	}
	for _, v := range []string{"", "banana"} {
		if code, body := httpGet(t, itemURL+"no-such-item", "X-Canary", v); code != http.StatusNotFound {
			t.Errorf("production GET (X-Canary %q) after 25 canary 503s = %d %s, want the handler's 404", v, code, body)
		}
	}
	return trip
}

// checkGroupSeries checks the breaker series of a scrape taken while the
// canary breaker of getItem is open: its state by group, the trip's
// failure ratio, and that the group label holds declared values only.
func checkGroupSeries(t *testing.T, scrape, getItem string, failRatio float64) {
	t.Helper()
	if strings.Contains(scrape, "banana") {
		t.Errorf("/debug/metrics carries the raw header value banana:\n%s", grepLines(scrape, "banana"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(scrape))
	if err != nil {
		t.Fatalf("parse /debug/metrics: %v", err)
	}
	got := map[string]float64{}
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if g, ok := labels["group"]; ok && !slices.Contains([]string{"default", "true"}, g) {
				t.Errorf("series %s%v: group %q is neither declared nor default", name, labels, g)
			}
			if labels["cb_name"] == getItem {
				got[name+"/"+labels["group"]+"/"+labels["state"]] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	want := map[string]float64{
		"govern_breaker_group_state/true/":              2, // open
		"govern_breaker_group_state/default/":           0, // closed
		"govern_breaker_trip_fail_ratio/true/":          failRatio,
		"govern_breaker_transitions_total/true/open":    1,
		"govern_breaker_transitions_total/default/open": 0,
	}
	for series, v := range want {
		if g, ok := got[series]; !ok || g != v {
			t.Errorf("%s{cb_name=%q} = %v (exported: %v), want %v\n%s", series, getItem, g, ok, v, grepLines(scrape, "govern_breaker"))
		}
	}
}

// checkBreakerAuditLog checks the service's log lines: the canary trip is
// one WARN line with cb_name, group, state, fail_ratio and the trace id of
// the call that tripped it; production's breaker never opened; no line
// names a group that was not declared.
func checkBreakerAuditLog(t *testing.T, lines []string, getItem string, trip canaryTrip) {
	t.Helper()
	var trips []map[string]any
	for _, l := range lines {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) != nil || rec["msg"] != "circuit breaker changed state" {
			continue
		}
		if g := rec["group"]; g != "true" && g != "default" {
			t.Errorf("breaker log line names group %v, neither declared nor default: %s", g, l)
		}
		if rec["group"] == "default" && rec["state"] == "open" {
			t.Errorf("production's breaker opened: %s", l)
		}
		if rec["group"] == "true" && rec["state"] == "open" {
			trips = append(trips, rec)
		}
	}
	if len(trips) == 0 {
		t.Fatalf("no log line says the canary breaker opened, among:\n%s", strings.Join(lines, "\n"))
	}
	// The first opening is the trip; later ones (if the test outlived
	// open_for) are failed half-open probes.
	rec := trips[0]
	want := map[string]any{"level": "warn", "cb_name": getItem, "group": "true", "state": "open", "from": "closed", "fail_ratio": trip.failRatio, "trace_id": trip.tripTrace}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("breaker trip log line has %s=%v, want %v: %v", k, rec[k], v, rec)
		}
	}
}

// httpGet sends a GET with one header (none when value is empty) and
// returns the status and body.
func httpGet(t *testing.T, url, header, value string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if value != "" {
		req.Header.Set(header, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	if _, err := io.Copy(&body, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body.String()
}
