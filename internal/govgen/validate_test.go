package govgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// header is the part of every validation fixture before the service; the
// service's first method option is on line 16, column 5.
const header = `syntax = "proto3";
package t;
import "govern/v1/govern.proto";
option go_package = "example.com/t";
message Req {
  string id = 1;
  repeated string tags = 2;
  map<string, string> labels = 3;
  Inner inner = 4;
  bytes blob = 5;
  double score = 6;
}
message Inner { string sn = 1; }
service S {
`

// method wraps option lines into method M of a unary (or streaming) RPC.
func method(rpc string, options ...string) string {
	return "  rpc " + rpc + " {\n    " + strings.Join(options, "\n    ") + "\n  }\n}\n"
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"retry on a non-idempotent method",
			method("M(Req) returns (Req)", `option (govern.v1.method).retry.max_attempts = 3;`),
			"bad.proto:16:5: retry on M, which is not idempotent: a retried call could run its side effects twice; add `option idempotency_level = IDEMPOTENT;` (or NO_SIDE_EFFECTS), add an idempotency block, or remove the retry"},
		{"unknown key field",
			method("M(Req) returns (Req)", `option (govern.v1.method).idempotency.key_fields = "client";`),
			`bad.proto:16:5: idempotency.key_fields "client" of M: t.Req has no field "client"; use one of: id, tags, labels, inner, blob, score`},
		{"unknown nested key field",
			method("M(Req) returns (Req)", `option (govern.v1.method).idempotency.key_fields = "inner.sx";`),
			`bad.proto:16:5: idempotency.key_fields "inner.sx" of M: t.Inner has no field "sx"; use one of: sn`},
		{"repeated key field",
			method("M(Req) returns (Req)", `option (govern.v1.method).idempotency.key_fields = "tags";`),
			`bad.proto:16:5: idempotency.key_fields "tags" of M: t.Req.tags is repeated, which has no single value; point the path at a singular scalar field`},
		{"map key field",
			method("M(Req) returns (Req)", `option (govern.v1.method).idempotency.key_fields = "labels";`),
			`bad.proto:16:5: idempotency.key_fields "labels" of M: t.Req.labels is a map, which has no single value; point the path at a singular scalar field`},
		{"message key field",
			method("M(Req) returns (Req)", `option (govern.v1.method).idempotency.key_fields = "inner";`),
			`bad.proto:16:5: idempotency.key_fields "inner" of M: t.Req.inner is a message; extend the path to one of its scalar fields: sn`},
		{"bytes key field",
			method("M(Req) returns (Req)", `option (govern.v1.method).idempotency.key_fields = "blob";`),
			`bad.proto:16:5: idempotency.key_fields "blob" of M: t.Req.blob is bytes; use a string, integer, bool or enum field (hash the payload into a string field if you must)`},
		{"floating-point key field",
			method("M(Req) returns (Req)", `option (govern.v1.method).idempotency.key_fields = "score";`),
			`bad.proto:16:5: idempotency.key_fields "score" of M: t.Req.score is a floating-point double, whose text form is not a stable key; use a string, integer, bool or enum field`},
		{"key path through a scalar",
			method("M(Req) returns (Req)", `option (govern.v1.method).idempotency.key_fields = "id.x";`),
			`bad.proto:16:5: idempotency.key_fields "id.x" of M: t.Req.id is a string, not a message, so the path cannot continue past it; end the path at "id"`},
		{"empty key path segment",
			method("M(Req) returns (Req)", `option (govern.v1.method).idempotency.key_fields = "inner..sn";`),
			`bad.proto:16:5: idempotency.key_fields "inner..sn" of M has an empty path segment: write field names separated by single dots, such as "order.sn"`},
		{"duplicate key field",
			method("M(Req) returns (Req)", `option (govern.v1.method).idempotency = {key_fields: ["id", "id"]};`),
			`bad.proto:16:5: idempotency.key_fields lists "id" twice: remove the duplicate`},
		{"unparseable duration",
			method("M(Req) returns (Req)", `option (govern.v1.method).timeout = "800 ms";`),
			`bad.proto:16:5: timeout "800 ms" is not a duration: write it in Go duration syntax, such as "800ms", "2s" or "1h30m"`},
		{"negative duration",
			method("M(Req) returns (Req)", `option (govern.v1.method).idempotency.ttl = "-1h";`),
			`bad.proto:16:5: idempotency.ttl "-1h" is negative: use a positive duration such as "1h"`},
		{"zero duration where one is needed",
			method("M(Req) returns (Req)", `option (govern.v1.method).circuit_breaker.open_for = "0s";`),
			`bad.proto:16:5: circuit_breaker.open_for "0s" must be longer than zero: use a positive duration, or remove it for the default`},
		{"rate of zero",
			method("M(Req) returns (Req)", `option (govern.v1.method).rate_limit.rps = 0;`),
			`bad.proto:16:5: rate_limit.rps 0 must be > 0: set the sustained requests per second, or remove rate_limit`},
		{"negative rate",
			method("M(Req) returns (Req)", `option (govern.v1.method).rate_limit.rps = -5;`),
			`bad.proto:16:5: rate_limit.rps -5 must be > 0: set the sustained requests per second, or remove rate_limit`},
		{"absurd rate",
			method("M(Req) returns (Req)", `option (govern.v1.method).rate_limit.rps = 1e12;`),
			`bad.proto:16:5: rate_limit.rps 1e+12 exceeds 1e+09, which no limiter enforces: remove rate_limit for an unlimited method`},
		{"rate limit without rps",
			method("M(Req) returns (Req)", `option (govern.v1.method).rate_limit.burst = 3;`),
			`bad.proto:16:5: rate_limit on M has no rps: set rate_limit.rps to the sustained requests per second (> 0), or remove rate_limit`},
		{"zero burst",
			method("M(Req) returns (Req)", `option (govern.v1.method).rate_limit = {rps: 1 burst: 0};`),
			`bad.proto:16:5: rate_limit.burst 0 would reject every call: use at least 1, or remove it for max(1, ceil(rps))`},
		{"sampling above one",
			method("M(Req) returns (Req)", `option (govern.v1.method).sampling = 1.5;`),
			`bad.proto:16:5: sampling 1.5 is outside [0,1]: write a trace sampling ratio such as 0.1 for 10%, or remove it to use the tier default`},
		{"failure ratio below zero",
			method("M(Req) returns (Req)", `option (govern.v1.method).circuit_breaker.failure_ratio = -0.1;`),
			`bad.proto:16:5: circuit_breaker.failure_ratio -0.1 is outside [0,1]: write the failure ratio that opens the breaker, such as 0.5`},
		{"idempotency on a client stream",
			method("M(stream Req) returns (Req)", `option (govern.v1.method).idempotency.required = true;`),
			`bad.proto:16:5: idempotency on M, a client-streaming method: a stream of requests cannot be deduplicated; remove the idempotency block (unary and server-streaming methods support it)`},
		{"idempotency on a bidi stream",
			method("M(stream Req) returns (stream Req)", `option (govern.v1.method).idempotency = {};`),
			`bad.proto:16:5: idempotency on M, a bidi-streaming method: a stream of requests cannot be deduplicated; remove the idempotency block (unary and server-streaming methods support it)`},
		{"more than five attempts",
			method("M(Req) returns (Req)", `option idempotency_level = IDEMPOTENT;`, `option (govern.v1.method).retry.max_attempts = 6;`),
			`bad.proto:17:5: retry.max_attempts 6 exceeds gRPC's cap of 5 attempts: use 2 to 5`},
		{"a single attempt",
			method("M(Req) returns (Req)", `option idempotency_level = IDEMPOTENT;`, `option (govern.v1.method).retry.max_attempts = 1;`),
			`bad.proto:17:5: retry.max_attempts 1 allows no retry (it counts the first attempt): use 2 to 5, or remove the retry`},
		{"initial backoff beyond timeout",
			method("M(Req) returns (Req)", `option idempotency_level = NO_SIDE_EFFECTS;`, `option (govern.v1.method) = {timeout: "100ms" retry: {initial_backoff: "250ms"}};`),
			`bad.proto:17:5: retry.initial_backoff 250ms is longer than the timeout 100ms: every retry would start after the deadline; lower initial_backoff below the timeout or raise the timeout`},
		{"max backoff below initial",
			method("M(Req) returns (Req)", `option idempotency_level = NO_SIDE_EFFECTS;`, `option (govern.v1.method).retry = {initial_backoff: "2s" max_backoff: "1s"};`),
			`bad.proto:17:5: retry.max_backoff 1s is shorter than initial_backoff 2s: raise max_backoff to at least the initial backoff`},
		{"unknown retry code",
			method("M(Req) returns (Req)", `option idempotency_level = NO_SIDE_EFFECTS;`, `option (govern.v1.method).retry.codes = "Unavailable";`),
			`bad.proto:17:5: retry.codes "Unavailable" is not a gRPC status code name: use upper-case names such as UNAVAILABLE or RESOURCE_EXHAUSTED`},
		{"zero multiplier",
			method("M(Req) returns (Req)", `option idempotency_level = NO_SIDE_EFFECTS;`, `option (govern.v1.method).retry.multiplier = 0;`),
			`bad.proto:17:5: retry.multiplier 0 must be a number > 0: use e.g. 2 to double the backoff after each attempt`},
		{"lease not above timeout",
			method("M(Req) returns (Req)", `option (govern.v1.method) = {timeout: "5s" idempotency: {lease: "5s"}};`),
			`bad.proto:16:5: idempotency.lease 5s of M is not longer than its timeout 5s: a slow call would lose its claim while still running and a retry would run it twice; raise the lease above the timeout (default max(2 x timeout, 10s))`},
		{"zero half-open probes",
			method("M(Req) returns (Req)", `option (govern.v1.method).circuit_breaker.half_open_requests = 0;`),
			`bad.proto:16:5: circuit_breaker.half_open_requests 0 would never close the breaker again: use at least 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := generateError(t, map[string]string{"bad.proto": header + tt.src})
			if got != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

// TestValidationReportsEveryProblem checks that problems are not reported
// one at a time: every one in every file, in source order, and a value
// declared once at file level is reported once, not per method.
func TestValidationReportsEveryProblem(t *testing.T) {
	a := header + `  option (govern.v1.service).timeout = "soon";
  rpc M(Req) returns (Req) {
    option (govern.v1.method).retry = {max_attempts: 9};
    option (govern.v1.method).sampling = 2;
  }
  rpc N(stream Req) returns (Req) {
    option (govern.v1.method).idempotency.key_fields = "nope";
  }
}
`
	b := `syntax = "proto3";
package u;
import "govern/v1/govern.proto";
option go_package = "example.com/u";
option (govern.v1.file).rate_limit.rps = -1;
message R { string id = 1; }
service One { rpc A(R) returns (R); rpc B(R) returns (R); }
`
	got := generateError(t, map[string]string{"a.proto": a, "b.proto": b}, "a.proto", "b.proto")
	want := strings.Join([]string{
		`a.proto:15:3: timeout "soon" is not a duration: write it in Go duration syntax, such as "800ms", "2s" or "1h30m"`,
		`a.proto:17:5: retry.max_attempts 9 exceeds gRPC's cap of 5 attempts: use 2 to 5`,
		"a.proto:17:5: retry on M, which is not idempotent: a retried call could run its side effects twice; add `option idempotency_level = IDEMPOTENT;` (or NO_SIDE_EFFECTS), add an idempotency block, or remove the retry",
		`a.proto:18:5: sampling 2 is outside [0,1]: write a trace sampling ratio such as 0.1 for 10%, or remove it to use the tier default`,
		`a.proto:21:5: idempotency on N, a client-streaming method: a stream of requests cannot be deduplicated; remove the idempotency block (unary and server-streaming methods support it)`,
		`b.proto:5:1: rate_limit.rps -1 must be > 0: set the sustained requests per second, or remove rate_limit`,
	}, "\n")
	if got != want {
		t.Errorf("errors\n got:\n%s\nwant:\n%s", got, want)
	}
}

// TestInheritedPoliciesApplyWhereTheyFit: retry and idempotency declared
// for a whole service are not errors on methods they cannot apply to.
func TestInheritedPoliciesApplyWhereTheyFit(t *testing.T) {
	src := header + `  option (govern.v1.service) = {retry: {} idempotency: {}};
  rpc Plain(stream Req) returns (Req);
}
`
	req := compileRequest(t, "", append([]string{writeSources(t, map[string]string{"ok.proto": src})}, protoImportPaths...), "ok.proto")
	resp := generate(t, req)
	if resp.Error != nil {
		t.Fatalf("unexpected error: %s", resp.GetError())
	}
}

func TestBadParameter(t *testing.T) {
	dir := writeSources(t, map[string]string{"ok.proto": header + "}\n"})
	for _, param := range []string{"openapi_format=xml", "no_such_option=1", "gateway=maybe"} {
		resp, err := RunRequest(compileRequest(t, param, append([]string{dir}, protoImportPaths...), "ok.proto"))
		if err == nil && resp.Error == nil {
			t.Errorf("parameter %q accepted", param)
		}
	}
}

// generateError compiles the sources and returns the plugin's error.
func generateError(t *testing.T, sources map[string]string, files ...string) string {
	t.Helper()
	if len(files) == 0 {
		for name := range sources {
			files = append(files, name)
		}
	}
	dir := writeSources(t, sources)
	resp := generate(t, compileRequest(t, "", append([]string{dir}, protoImportPaths...), files...))
	if resp.Error == nil {
		t.Fatalf("no error; generated %d files", len(resp.File))
	}
	if len(resp.File) != 0 {
		t.Errorf("files generated despite errors")
	}
	return resp.GetError()
}

func writeSources(t *testing.T, sources map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range sources {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestValidationHTTPRules(t *testing.T) {
	src := `syntax = "proto3";
package h;
import "google/api/annotations.proto";
option go_package = "example.com/h";
message R { string id = 1; }
service S {
  rpc A(R) returns (R) {
    option (google.api.http) = {custom: {kind: "cancel" path: "/v1/a"}};
  }
  rpc B(R) returns (R) {
    option (google.api.http) = {get: "v1/b"};
  }
}
`
	got := generateError(t, map[string]string{"h.proto": src})
	want := `h.proto:8:5: google.api.http on A: custom method "cancel" must be upper case, as HTTP methods are; write "CANCEL"` + "\n" +
		`h.proto:11:5: google.api.http on B: path "v1/b" must start with "/"`
	if got != want {
		t.Errorf("errors\n got:\n%s\nwant:\n%s", got, want)
	}
}

func TestValidationNameCollisions(t *testing.T) {
	src := `syntax = "proto3";
package c;
option go_package = "example.com/c";
message R { string id = 1; }
message OrdersPolicy { string id = 1; }
service Orders {
  rpc Get(R) returns (R);
}
`
	got := generateError(t, map[string]string{"c.proto": src})
	want := "c.proto:6:1: service Orders: generated identifier OrdersPolicy collides with message c.OrdersPolicy in Go package example.com/c; rename one of them"
	if got != want {
		t.Errorf("error\n got: %s\nwant: %s", got, want)
	}
}

// TestValidationWithoutSourceInfo: a request without SourceCodeInfo (buf
// can be told to drop it) still reports every problem, at line 1.
func TestValidationWithoutSourceInfo(t *testing.T) {
	dir := writeSources(t, map[string]string{"bad.proto": header + method("M(Req) returns (Req)", `option (govern.v1.method).sampling = 7;`)})
	req := compileRequest(t, "", append([]string{dir}, protoImportPaths...), "bad.proto")
	for _, f := range req.ProtoFile {
		f.SourceCodeInfo = nil
	}
	resp := generate(t, req)
	want := "bad.proto:1:1: sampling 7 is outside [0,1]: write a trace sampling ratio such as 0.1 for 10%, or remove it to use the tier default"
	if resp.GetError() != want {
		t.Errorf("error\n got: %s\nwant: %s", resp.GetError(), want)
	}
}
