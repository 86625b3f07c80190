package serviceconfig

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/govkit/govern/runtime/policy"
)

func sampleTable() policy.Table {
	return policy.Table{
		"/shop.v1.Orders/Create": {
			FullMethod: "/shop.v1.Orders/Create", Timeout: 800 * time.Millisecond,
			Idempotency: &policy.Idempotency{Required: true, TTL: 24 * time.Hour, Lease: 10 * time.Second},
			Retry:       &policy.Retry{MaxAttempts: 3, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Multiplier: 2, Codes: []codes.Code{codes.Unavailable, codes.Aborted}},
		},
		"/shop.v1.Orders/Get": {
			FullMethod: "/shop.v1.Orders/Get", Timeout: 2 * time.Second, IdempotencyLevel: policy.NoSideEffects,
			Retry: &policy.Retry{MaxAttempts: 4, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Multiplier: 1.5, Codes: []codes.Code{codes.Unavailable}, Adaptive: true},
		},
		"/shop.v1.Orders/List": {FullMethod: "/shop.v1.Orders/List", Timeout: 1500 * time.Microsecond},
		"/shop.v1.Orders/Off":  {FullMethod: "/shop.v1.Orders/Off", Timeout: time.Second, Disabled: true},
		"/shop.v1.Orders/Bare": {FullMethod: "/shop.v1.Orders/Bare"},
	}
}

func TestBuildContent(t *testing.T) {
	got, err := Build(sampleTable())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"methodConfig":[` +
		`{"name":[{"service":"shop.v1.Orders","method":"Create"}],"timeout":"0.800s","retryPolicy":{"maxAttempts":3,"initialBackoff":"0.100s","maxBackoff":"1s","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE","ABORTED"]}},` +
		`{"name":[{"service":"shop.v1.Orders","method":"Get"}],"timeout":"2s"},` +
		`{"name":[{"service":"shop.v1.Orders","method":"List"}],"timeout":"0.001500s"}],` +
		`"retryThrottling":{"maxTokens":10,"tokenRatio":0.1}}`
	if got != want {
		t.Errorf("Build =\n%s\nwant\n%s", got, want)
	}
}

func TestBuildNoRetryNoThrottling(t *testing.T) {
	got, err := Build(policy.Table{"/a.S/M": {Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "retryThrottling") {
		t.Errorf("throttling without any native retry: %s", got)
	}
	if got, err := Build(nil); err != nil || got != "{}" {
		t.Errorf("Build(nil) = %q, %v; want {}", got, err)
	}
}

func TestBuildRejects(t *testing.T) {
	retry := func(mod func(*policy.Retry)) *policy.Retry {
		r := &policy.Retry{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: time.Second, Multiplier: 2, Codes: []codes.Code{codes.Unavailable}}
		mod(r)
		return r
	}
	tests := []struct {
		name   string
		method *policy.Method
		key    string
		want   string
	}{
		{"not idempotent", &policy.Method{Retry: retry(func(*policy.Retry) {})}, "/a.S/M", "not idempotent"},
		{"too many attempts", &policy.Method{IdempotencyLevel: policy.Idempotent, Retry: retry(func(r *policy.Retry) { r.MaxAttempts = 6 })}, "/a.S/M", "outside 2..5"},
		{"one attempt", &policy.Method{IdempotencyLevel: policy.Idempotent, Retry: retry(func(r *policy.Retry) { r.MaxAttempts = 1 })}, "/a.S/M", "outside 2..5"},
		{"zero backoff", &policy.Method{IdempotencyLevel: policy.Idempotent, Retry: retry(func(r *policy.Retry) { r.InitialBackoff = 0 })}, "/a.S/M", "backoffs must be positive"},
		{"zero multiplier", &policy.Method{IdempotencyLevel: policy.Idempotent, Retry: retry(func(r *policy.Retry) { r.Multiplier = 0 })}, "/a.S/M", "multiplier"},
		{"no codes", &policy.Method{IdempotencyLevel: policy.Idempotent, Retry: retry(func(r *policy.Retry) { r.Codes = nil })}, "/a.S/M", "no status codes"},
		{"code OK", &policy.Method{IdempotencyLevel: policy.Idempotent, Retry: retry(func(r *policy.Retry) { r.Codes = []codes.Code{codes.OK} })}, "/a.S/M", "not a retryable"},
		{"bad name", &policy.Method{Timeout: time.Second}, "a.S/M", "not a full method name"},
		{"negative timeout", &policy.Method{Timeout: -time.Second}, "/a.S/M", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(policy.Table{tt.key: tt.method})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{time.Second, "1s"},
		{800 * time.Millisecond, "0.800s"},
		{24 * time.Hour, "86400s"},
		{1500 * time.Microsecond, "0.001500s"},
		{time.Nanosecond, "0.000000001s"},
		{-1500 * time.Millisecond, "-1.500s"},
		{-time.Millisecond, "-0.001s"},
	}
	for _, tt := range tests {
		if got := Duration(tt.in); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCodeNamesRoundTrip(t *testing.T) {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		name, ok := CodeName(c)
		if !ok {
			t.Fatalf("CodeName(%v) not ok", c)
		}
		// codes.Code's own JSON decoder is what the grpc service config parser uses.
		var parsed codes.Code
		if err := json.Unmarshal([]byte(`"`+name+`"`), &parsed); err != nil || parsed != c {
			t.Errorf("grpc parses %q as %v (%v), want %v", name, parsed, err, c)
		}
		if back, ok := ParseCode(name); !ok || back != c {
			t.Errorf("ParseCode(%q) = %v, %v", name, back, ok)
		}
	}
	if _, ok := CodeName(17); ok {
		t.Error("CodeName(17) ok")
	}
	if _, ok := ParseCode("Unavailable"); ok {
		t.Error("ParseCode accepted a non-canonical name")
	}
}

// TestGRPCAcceptsServiceConfig feeds the output to grpc-go's own parser,
// once as a default service config of a real client and once through a
// resolver, which reports parse errors instead of silently ignoring them.
func TestGRPCAcceptsServiceConfig(t *testing.T) {
	js, err := Build(sampleTable())
	if err != nil {
		t.Fatal(err)
	}
	assertGRPCParses(t, js)

	// The check above must be able to fail: grpc rejects a broken policy.
	bad := strings.Replace(js, `"maxAttempts":3`, `"maxAttempts":0`, 1)
	r := manual.NewBuilderWithScheme("govern-sc-bad")
	cc, err := grpc.NewClient(r.Scheme()+":///x", grpc.WithResolvers(r), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	cc.Connect()
	if pr := r.CC().ParseServiceConfig(bad); pr.Err == nil {
		t.Fatalf("grpc accepted a retry policy with maxAttempts 0")
	}
}

func assertGRPCParses(t *testing.T, js string) {
	t.Helper()
	r := manual.NewBuilderWithScheme("govern-sc")
	cc, err := grpc.NewClient(r.Scheme()+":///x",
		grpc.WithResolvers(r),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(js))
	if err != nil {
		t.Fatalf("grpc rejected the default service config: %v\n%s", err, js)
	}
	defer cc.Close()
	cc.Connect()
	pr := r.CC().ParseServiceConfig(js)
	if pr.Err != nil {
		t.Fatalf("grpc could not parse the service config: %v\n%s", pr.Err, js)
	}
	r.UpdateState(resolver.State{ServiceConfig: pr})
}
