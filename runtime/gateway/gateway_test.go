package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/internal/callorigin"
	"github.com/govkit/govern/runtime/policy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// handle mounts a handler the way protoc-gen-grpc-gateway's generated code
// does: annotate the context (which applies the header matcher and records
// the declared template), call the "backend", answer or runtime.HTTPError.
func handle(t *testing.T, mux *runtime.ServeMux, method, pattern, fullMethod string, backend func(ctx context.Context) error) {
	t.Helper()
	err := mux.HandlePath(method, pattern, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		_, outbound := runtime.MarshalerForRequest(mux, r)
		ctx, err := runtime.AnnotateContext(r.Context(), mux, r, fullMethod, runtime.WithHTTPPathPattern(pattern))
		if err == nil {
			err = backend(ctx)
		}
		if err != nil {
			runtime.HTTPError(ctx, mux, outbound, w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func do(t *testing.T, h http.Handler, method, path string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(`{}`))
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestHeaderNamesMatchIdempotencyPackage(t *testing.T) {
	// The gateway keeps copies of runtime/idempotency's names; they must
	// not drift apart.
	if idempotencyHeader != idempotency.HeaderName || idempotencyMetadataKey != idempotency.MetadataKey {
		t.Fatalf("gateway forwards %q as %q, runtime/idempotency reads %q as %q",
			idempotencyHeader, idempotencyMetadataKey, idempotency.HeaderName, idempotency.MetadataKey)
	}
}

func TestForwardsGovernanceAndTraceHeaders(t *testing.T) {
	mux := NewServeMux()
	var got metadata.MD
	handle(t, mux, "POST", "/v1/orders", "/order.v1.OrderService/CreateOrder", func(ctx context.Context) error {
		got, _ = metadata.FromOutgoingContext(ctx)
		return nil
	})
	header := http.Header{
		"Idempotency-Key":     {`"k1"`},
		"X-B3-Traceid":        {"463ac35c9f6413ad48485a3953bb6124"},
		"X-B3-Spanid":         {"a2fb4a1d1a96d312"},
		"X-B3-Parentspanid":   {"0020000000000001"},
		"X-B3-Sampled":        {"1"},
		"X-B3-Flags":          {"0"},
		"B3":                  {"463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1"},
		"Traceparent":         {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		"Tracestate":          {"congo=t61rcWkgMzE"},
		"X-Unrelated":         {"nope"},
		"Grpc-Metadata-Admin": {"true"},
	}
	if resp := do(t, mux, "POST", "/v1/orders", header); resp.StatusCode != 200 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	want := map[string]string{
		"idempotency-key":   `"k1"`,
		"x-b3-traceid":      "463ac35c9f6413ad48485a3953bb6124",
		"x-b3-spanid":       "a2fb4a1d1a96d312",
		"x-b3-parentspanid": "0020000000000001",
		"x-b3-sampled":      "1",
		"x-b3-flags":        "0",
		"b3":                "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1",
		"traceparent":       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"tracestate":        "congo=t61rcWkgMzE",
	}
	for key, value := range want {
		if v := got.Get(key); len(v) != 1 || v[0] != value {
			t.Errorf("metadata %q = %v, want [%s]", key, v, value)
		}
	}
	for _, key := range []string{"x-unrelated", "admin", "grpc-metadata-admin"} {
		if v := got.Get(key); len(v) != 0 {
			t.Errorf("metadata %q = %v, want nothing forwarded", key, v)
		}
	}
	if len(ForwardedHeaders()) != len(want) {
		t.Errorf("ForwardedHeaders() has %d entries, want %d", len(ForwardedHeaders()), len(want))
	}
}

// The traffic group header of a config (x-canary) is not a header
// grpc-gateway forwards by default: without WithForwardedHeaders every HTTP
// caller would be in the default group, canaries included.
func TestForwardsTrafficGroupHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want []string
	}{
		{"declared", []Option{WithForwardedHeaders("x-canary", "")}, []string{"true"}},
		{"not declared", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mux := NewServeMux(tc.opts...)
			var got metadata.MD
			handle(t, mux, "POST", "/v1/orders", "/order.v1.OrderService/CreateOrder", func(ctx context.Context) error {
				got, _ = metadata.FromOutgoingContext(ctx)
				return nil
			})
			if resp := do(t, mux, "POST", "/v1/orders", http.Header{"X-Canary": {"true"}}); resp.StatusCode != 200 {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			if v := got.Get("x-canary"); !slices.Equal(v, tc.want) {
				t.Errorf("metadata x-canary = %v, want %v", v, tc.want)
			}
		})
	}
}

func TestProblemDetailsForEveryReason(t *testing.T) {
	tests := []struct {
		reason         string
		code           codes.Code
		retryAfter     time.Duration
		wantStatus     int
		wantRetryAfter string
	}{
		{reason: errinfo.IdempotencyKeyMissing, code: codes.InvalidArgument, wantStatus: 400},
		{reason: errinfo.IdempotencyKeyInvalid, code: codes.InvalidArgument, wantStatus: 400},
		{reason: errinfo.IdempotencyInFlight, code: codes.Aborted, retryAfter: 2500 * time.Millisecond, wantStatus: 409, wantRetryAfter: "3"},
		{reason: errinfo.IdempotencyInFlight, code: codes.Aborted, wantStatus: 409, wantRetryAfter: "1"},
		{reason: errinfo.IdempotencyKeyReused, code: codes.FailedPrecondition, wantStatus: 422},
		{reason: errinfo.RateLimited, code: codes.ResourceExhausted, retryAfter: 200 * time.Millisecond, wantStatus: 429, wantRetryAfter: "1"},
		{reason: errinfo.RateLimited, code: codes.ResourceExhausted, retryAfter: 4 * time.Second, wantStatus: 429, wantRetryAfter: "4"},
		{reason: errinfo.RateLimited, code: codes.ResourceExhausted, wantStatus: 429, wantRetryAfter: "1"},
		{reason: errinfo.CircuitOpen, code: codes.Unavailable, retryAfter: 30 * time.Second, wantStatus: 503, wantRetryAfter: "30"},
		{reason: errinfo.CircuitOpen, code: codes.Unavailable, wantStatus: 503},
		{reason: errinfo.IdempotencyStoreUnavailable, code: codes.Unavailable, wantStatus: 503},
	}
	// Every reason errinfo defines is covered.
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.reason] = true
	}
	for _, r := range []string{errinfo.IdempotencyKeyMissing, errinfo.IdempotencyKeyInvalid, errinfo.IdempotencyInFlight, errinfo.IdempotencyKeyReused, errinfo.IdempotencyStoreUnavailable, errinfo.RateLimited, errinfo.CircuitOpen} {
		if !covered[r] {
			t.Errorf("reason %s has no test case", r)
		}
		if _, ok := HTTPStatus(r); !ok {
			t.Errorf("HTTPStatus(%s) not in the table", r)
		}
	}

	for _, tt := range tests {
		t.Run(tt.reason+"/"+tt.retryAfter.String(), func(t *testing.T) {
			mux := NewServeMux()
			rejection := errinfo.Error(tt.code, tt.reason, "rejected by policy", tt.retryAfter, map[string]string{"grpc_method": "/order.v1.OrderService/CreateOrder"})
			handle(t, mux, "POST", "/v1/orders/{id}", "/order.v1.OrderService/CreateOrder", func(context.Context) error { return rejection })

			resp := do(t, mux, "POST", "/v1/orders/42", nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); ct != ProblemContentType {
				t.Fatalf("Content-Type = %q, want %q", ct, ProblemContentType)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.wantRetryAfter {
				t.Fatalf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
			}
			var p Problem
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatal(err)
			}
			wantType := ProblemTypeBase + strings.ToLower(strings.ReplaceAll(tt.reason, "_", "-"))
			if p.Type != wantType || p.Status != tt.wantStatus || p.Reason != tt.reason || p.Title == "" ||
				p.Detail != "rejected by policy" || p.GRPCCode != strings.ToUpper(codeSnake(tt.code)) || p.Route != "/v1/orders/{id}" ||
				p.Metadata["grpc_method"] != "/order.v1.OrderService/CreateOrder" {
				t.Fatalf("problem = %+v", p)
			}
		})
	}
}

// TestOtherErrorsAreProblemsToo: an error that is not a govern rejection
// keeps grpc-gateway's status mapping but is answered in the same format,
// application/problem+json with type about:blank, so a client parses one
// error format.
func TestOtherErrorsAreProblemsToo(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantReason string
	}{
		{name: "not found", err: status.Error(codes.NotFound, "no such order"), wantStatus: 404, wantCode: "NOT_FOUND"},
		{name: "plain failed precondition", err: status.Error(codes.FailedPrecondition, "order closed"), wantStatus: 400, wantCode: "FAILED_PRECONDITION"},
		{name: "plain resource exhausted", err: status.Error(codes.ResourceExhausted, "quota"), wantStatus: 429, wantCode: "RESOURCE_EXHAUSTED"},
		{name: "unknown govern reason", err: errinfo.Error(codes.FailedPrecondition, "SOMETHING_NEW", "x", 0, nil), wantStatus: 400, wantCode: "FAILED_PRECONDITION", wantReason: "SOMETHING_NEW"},
		{name: "non-status error", err: errors.New("boom"), wantStatus: 500, wantCode: "UNKNOWN"},
		{name: "custom HTTP status", err: &runtime.HTTPStatusError{HTTPStatus: 418, Err: status.Error(codes.Internal, "teapot")}, wantStatus: 418, wantCode: "INTERNAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := NewServeMux()
			handle(t, mux, "GET", "/v1/orders/{id}", "/order.v1.OrderService/GetOrder", func(context.Context) error { return tt.err })
			p := readProblem(t, do(t, mux, "GET", "/v1/orders/1", nil), tt.wantStatus)
			want := Problem{Type: "about:blank", Title: http.StatusText(tt.wantStatus), Status: tt.wantStatus,
				Detail: status.Convert(tt.err).Message(), GRPCCode: tt.wantCode, Reason: tt.wantReason, Route: "/v1/orders/{id}"}
			if he, ok := tt.err.(*runtime.HTTPStatusError); ok {
				want.Detail = status.Convert(he.Err).Message()
			}
			p.Metadata = nil
			if fmt.Sprint(p) != fmt.Sprint(want) {
				t.Fatalf("problem = %+v\nwant      %+v", p, want)
			}
		})
	}
}

// readProblem checks that resp is a problem+json answer with status want
// and returns its body.
func readProblem(t *testing.T, resp *http.Response, want int) Problem {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want || resp.Header.Get("Content-Type") != ProblemContentType {
		t.Fatalf("answer = %d %s %s, want %d %s", resp.StatusCode, resp.Header.Get("Content-Type"), body, want, ProblemContentType)
	}
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if p.Status != want {
		t.Fatalf("problem status %d, HTTP status %d", p.Status, want)
	}
	return p
}

func TestCustomErrorHandlerForOtherErrors(t *testing.T) {
	called := false
	mux := NewServeMux(WithErrorHandler(func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		called = true
		w.WriteHeader(418)
	}))
	handle(t, mux, "GET", "/x", "/s.S/M", func(context.Context) error { return status.Error(codes.Internal, "x") })
	if resp := do(t, mux, "GET", "/x", nil); resp.StatusCode != 418 || !called {
		t.Fatalf("custom handler not used: %d", resp.StatusCode)
	}
	handle(t, mux, "GET", "/y", "/s.S/M", func(context.Context) error {
		return errinfo.Error(codes.ResourceExhausted, errinfo.RateLimited, "slow down", time.Second, nil)
	})
	if resp := do(t, mux, "GET", "/y", nil); resp.StatusCode != 429 {
		t.Fatalf("govern rejection went to the custom handler: %d", resp.StatusCode)
	}
}

// series returns the label sets of a metric family in reg.
func series(t *testing.T, reg *prometheus.Registry, name string) []map[string]string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			count := m.GetCounter().GetValue()
			if h := m.GetHistogram(); h != nil {
				count = float64(h.GetSampleCount())
			}
			labels["_count"] = strconv.FormatFloat(count, 'f', -1, 64)
			out = append(out, labels)
		}
	}
	return out
}

func TestMetricsUseRouteTemplates(t *testing.T) {
	reg := prometheus.NewRegistry()
	mux := NewServeMux(WithRegisterer(prometheus.WrapRegistererWith(prometheus.Labels{"service": "order"}, reg)))
	handle(t, mux, "GET", "/v1/orders/{id}", "/order.v1.OrderService/GetOrder", func(context.Context) error { return nil })
	handle(t, mux, "GET", "/v1/shelves/{shelf=shelves/*}/books", "/lib.v1.Library/ListBooks", func(context.Context) error { return nil })
	handle(t, mux, "POST", "/v1/orders", "/order.v1.OrderService/CreateOrder", func(context.Context) error {
		return errinfo.Error(codes.ResourceExhausted, errinfo.RateLimited, "slow down", 0, nil)
	})

	for _, id := range []string{"1", "2", "abc-def", "%2e%2e"} {
		do(t, mux, "GET", "/v1/orders/"+id, nil)
	}
	do(t, mux, "GET", "/v1/shelves/shelves/7/books", nil)
	do(t, mux, "POST", "/v1/orders", nil)
	do(t, mux, "GET", "/v1/unknown/path/12345", nil)
	do(t, mux, "BREW", "/v1/orders", nil)

	got := series(t, reg, MetricRequestDuration)
	want := map[string]string{ // route|method|code -> count
		"/v1/orders/{id}|GET|200":                     "4",
		"/v1/shelves/{shelf=shelves/*}/books|GET|200": "1",
		"/v1/orders|POST|429":                         "1",
	}
	if len(got) != len(want) {
		t.Fatalf("duration series = %v, want %v", got, want)
	}
	for _, s := range got {
		key := s["route"] + "|" + s["method"] + "|" + s["code"]
		if want[key] != s["_count"] || s["service"] != "order" {
			t.Errorf("series %v unexpected (want count %q)", s, want[key])
		}
		for _, raw := range []string{"abc-def", "12345", "shelves/7"} {
			if strings.Contains(s["route"], raw) {
				t.Errorf("route label %q carries the raw path", s["route"])
			}
		}
	}
	unmatched := series(t, reg, MetricUnmatched)
	codesSeen := map[string]bool{}
	for _, s := range unmatched {
		codesSeen[s["method"]+" "+s["code"]] = true
	}
	if !codesSeen["GET 404"] || !codesSeen["OTHER 404"] && !codesSeen["OTHER 405"] {
		t.Fatalf("unmatched series = %v", unmatched)
	}
}

func TestTwoMuxesShareOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := NewServeMux(WithRegisterer(reg))
	b := NewServeMux(WithRegisterer(reg))
	handle(t, a, "GET", "/a", "/s.S/A", func(context.Context) error { return nil })
	handle(t, b, "GET", "/b", "/s.S/B", func(context.Context) error { return nil })
	do(t, a, "GET", "/a", nil)
	do(t, b, "GET", "/b", nil)
	if got := series(t, reg, MetricRequestDuration); len(got) != 2 {
		t.Fatalf("series = %v, want one per mux route", got)
	}
}

func TestConflictingMetricPanics(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: MetricRequestDuration, Help: "clash"}))
	defer func() {
		if recover() == nil {
			t.Fatal("NewServeMux did not panic on a conflicting metric")
		}
	}()
	NewServeMux(WithRegisterer(reg))
}

func TestStatusRecorderFlushes(t *testing.T) {
	rec := httptest.NewRecorder()
	sr := &statusRecorder{ResponseWriter: rec}
	sr.Flush()
	if !rec.Flushed || sr.code() != 200 {
		t.Fatalf("flushed=%v code=%d", rec.Flushed, sr.code())
	}
	if http.NewResponseController(sr).Flush() != nil {
		t.Fatal("ResponseController cannot reach the underlying writer")
	}
}

func validRoutes() []policy.Route {
	create := &policy.Method{FullMethod: "/order.v1.OrderService/CreateOrder"}
	return []policy.Route{
		{HTTPMethod: "POST", Pattern: "/v1/orders", Body: "*", FullMethod: "/order.v1.OrderService/CreateOrder", Policy: create},
		{HTTPMethod: "GET", Pattern: "/v1/orders/{id}", FullMethod: "/order.v1.OrderService/GetOrder"},
		{HTTPMethod: "GET", Pattern: "/v1/orders", FullMethod: "/order.v1.OrderService/ListOrders"},
		{HTTPMethod: "POST", Pattern: "/v1/orders/{id}:cancel", Body: "*", FullMethod: "/order.v1.OrderService/CancelOrder"},
	}
}

func TestValidateRoutes(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func([]policy.Route) []policy.Route
		wantErr []string
	}{
		{name: "valid", mutate: func(r []policy.Route) []policy.Route { return r }},
		{name: "empty table", mutate: func([]policy.Route) []policy.Route { return nil }},
		{name: "lower-case method", mutate: func(r []policy.Route) []policy.Route { r[0].HTTPMethod = "post"; return r }, wantErr: []string{`HTTP method "post"`}},
		{name: "no leading slash", mutate: func(r []policy.Route) []policy.Route { r[1].Pattern = "v1/orders"; return r }, wantErr: []string{"must start with '/'"}},
		{name: "unparsable template", mutate: func(r []policy.Route) []policy.Route { r[1].Pattern = "/v1/orders/{id"; return r }, wantErr: []string{"does not parse"}},
		{name: "bad full method", mutate: func(r []policy.Route) []policy.Route { r[2].FullMethod = "ListOrders"; return r }, wantErr: []string{`full method "ListOrders"`}},
		{name: "foreign policy", mutate: func(r []policy.Route) []policy.Route { r[0].FullMethod = "/order.v1.OrderService/GetOrder"; return r }, wantErr: []string{"policy belongs to /order.v1.OrderService/CreateOrder"}},
		{name: "duplicate", mutate: func(r []policy.Route) []policy.Route { return append(r, r[1]) }, wantErr: []string{"same method and template as route 1"}},
		{
			name: "every problem reported",
			mutate: func(r []policy.Route) []policy.Route {
				r[0].HTTPMethod = ""
				r[2].FullMethod = "/x"
				return r
			},
			wantErr: []string{"route 0", "route 2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRoutes(tt.mutate(validRoutes()))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ValidateRoutes = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("ValidateRoutes = nil, want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestRegister(t *testing.T) {
	conn, err := grpc.NewClient("passthrough:///127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	mux := NewServeMux()

	var mounted bool
	register := func(_ context.Context, m *runtime.ServeMux, c *grpc.ClientConn) error {
		if m != mux || c != conn {
			t.Error("register got another mux or conn")
		}
		mounted = true
		return nil
	}
	if err := Register(ctx, mux, conn, validRoutes(), register); err != nil || !mounted {
		t.Fatalf("Register = %v, mounted=%v", err, mounted)
	}

	bad := validRoutes()
	bad[0].Pattern = "nope"
	mounted = false
	if err := Register(ctx, mux, conn, bad, register); err == nil || mounted {
		t.Fatalf("Register with a bad table = %v, mounted=%v; want error before mounting", err, mounted)
	}

	boom := errors.New("boom")
	if err := Register(ctx, mux, conn, validRoutes(), func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Register did not wrap the registration error: %v", err)
	}
	for name, call := range map[string]func() error{
		"nil mux":      func() error { return Register(ctx, nil, conn, nil, register) },
		"nil conn":     func() error { return Register(ctx, mux, nil, nil, register) },
		"nil register": func() error { return Register(ctx, mux, conn, nil, nil) },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: Register = nil, want an error", name)
		}
	}
}

// codeSnake spells a code as google.rpc.Code does: ResourceExhausted ->
// Resource_Exhausted (upper-cased by the caller).
func codeSnake(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func TestMetricsPreferDeclaredTemplate(t *testing.T) {
	reg := prometheus.NewRegistry()
	mux := NewServeMux(WithRegisterer(reg))
	// Generated handlers annotate the declared template; the metric uses it
	// rather than re-rendering the compiled pattern.
	err := mux.HandlePath("GET", "/v1/things/{id}", func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		if _, err := runtime.AnnotateContext(r.Context(), mux, r, "/s.S/M", runtime.WithHTTPPathPattern("/v1/things/{id} (declared)")); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// A handler that never annotates falls back to the rendered pattern.
	if err := mux.HandlePath("GET", "/v1/raw/{id}", func(http.ResponseWriter, *http.Request, map[string]string) {}); err != nil {
		t.Fatal(err)
	}
	do(t, mux, "GET", "/v1/things/1", nil)
	do(t, mux, "GET", "/v1/raw/1", nil)
	routes := map[string]bool{}
	for _, s := range series(t, reg, MetricRequestDuration) {
		routes[s["route"]] = true
	}
	if !routes["/v1/things/{id} (declared)"] || !routes["/v1/raw/{id}"] || len(routes) != 2 {
		t.Fatalf("routes = %v", routes)
	}
}

// TestMarksForwardedCalls: every handler on a gateway mux, with or without
// metrics, runs with a context that runtime/idempotency's client
// interceptor recognises as forwarded, so it never mints a key.
func TestMarksForwardedCalls(t *testing.T) {
	for name, mux := range map[string]*runtime.ServeMux{
		"plain":   NewServeMux(),
		"metered": NewServeMux(WithRegisterer(prometheus.NewRegistry())),
	} {
		var marked bool
		handle(t, mux, "POST", "/v1/orders", "/o.S/Create", func(ctx context.Context) error {
			marked = callorigin.FromGateway(ctx)
			return nil
		})
		do(t, mux, "POST", "/v1/orders", nil)
		if !marked {
			t.Errorf("%s mux: the backend call is not marked as forwarded by the gateway", name)
		}
	}
}
