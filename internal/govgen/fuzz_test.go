package govgen

import (
	"go/parser"
	"go/token"
	"math"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	governv1 "github.com/govkit/govern/proto/govern/v1"
	"github.com/govkit/govern/runtime/policy"
)

// FuzzRun feeds arbitrary bytes to the plugin as a CodeGeneratorRequest:
// it must answer with an error or a response, never panic.
func FuzzRun(f *testing.F) {
	for _, tc := range goldenCases {
		req := compileRequest(f, tc.parameter, protoImportPaths, tc.proto)
		b, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add([]byte("garbage"))
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Run(in)
		if err != nil {
			return
		}
		if err := proto.Unmarshal(out, &pluginpb.CodeGeneratorResponse{}); err != nil {
			t.Fatalf("response does not decode: %v", err)
		}
	})
}

var diagnosticLine = regexp.MustCompile(`^fuzz\.proto:\d+:\d+: \S`)

// FuzzOptionValues puts arbitrary option values on a method and checks the
// plugin's contract: every problem is reported as file:line:col: message,
// and whatever it accepts generates Go that parses.
func FuzzOptionValues(f *testing.F) {
	f.Add("800ms", "24h", "30s", "100ms", "1s", "UNAVAILABLE", "client_id", uint32(3), 5.0, 0.5, 0.1, 2.0, true, true)
	f.Add("", "", "", "", "", "", "", uint32(0), 0.0, 0.0, 0.0, 0.0, false, false)
	f.Add("-1s", "abc", "0s", "2s", "1ms", "Unavailable", "payment.sn", uint32(9), -1.0, 1.5, -0.1, 0.0, true, false)
	f.Add("1h", "1ns", "10s", "1h", "1h", "OK", "payment..sn", uint32(1), math.Inf(1), math.NaN(), 1.0, -2.0, false, true)
	base := compileRequest(f, "", protoImportPaths, "keys.proto")
	f.Fuzz(func(t *testing.T, timeout, ttl, lease, initial, maxBackoff, code, keyField string, attempts uint32, rps, ratio, sampling, multiplier float64, idempotent, required bool) {
		req := proto.Clone(base).(*pluginpb.CodeGeneratorRequest)
		var file *descriptorpb.FileDescriptorProto
		for _, fd := range req.ProtoFile {
			if fd.GetName() == "keys.proto" {
				file = fd
			}
		}
		file.Name = proto.String("fuzz.proto")
		req.FileToGenerate = []string{"fuzz.proto"}
		m := file.Service[0].Method[0]
		opts := &descriptorpb.MethodOptions{}
		if idempotent {
			opts.IdempotencyLevel = descriptorpb.MethodOptions_IDEMPOTENT.Enum()
		}
		pol := &governv1.Policy{
			Timeout:        nonEmpty(timeout),
			Sampling:       proto.Float64(sampling),
			Idempotency:    &governv1.Idempotency{Required: proto.Bool(required), Ttl: nonEmpty(ttl), Lease: nonEmpty(lease)},
			Retry:          &governv1.Retry{MaxAttempts: proto.Uint32(attempts), InitialBackoff: nonEmpty(initial), MaxBackoff: nonEmpty(maxBackoff), Multiplier: proto.Float64(multiplier)},
			RateLimit:      &governv1.RateLimit{Rps: proto.Float64(rps)},
			CircuitBreaker: &governv1.CircuitBreaker{FailureRatio: proto.Float64(ratio)},
		}
		if code != "" {
			pol.Retry.Codes = []string{code}
		}
		if keyField != "" {
			pol.Idempotency.KeyFields = []string{keyField}
		}
		proto.SetExtension(opts, governv1.E_Method, pol)
		m.Options = opts

		resp, err := RunRequest(req)
		if err != nil {
			t.Fatalf("valid request rejected: %v", err)
		}
		if resp.Error != nil {
			for _, line := range strings.Split(resp.GetError(), "\n") {
				if !diagnosticLine.MatchString(line) {
					t.Fatalf("problem not reported as file:line:col: message: %q", line)
				}
			}
			return
		}
		for _, out := range resp.File {
			if _, err := parser.ParseFile(token.NewFileSet(), out.GetName(), out.GetContent(), 0); err != nil {
				t.Fatalf("generated Go does not parse: %v\n%s", err, out.GetContent())
			}
		}
		gen, err := protogen.Options{}.New(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range gen.Files {
			if f.Generate {
				fm, _ := resolveFile(f)
				for _, sm := range fm.services {
					for _, m := range sm.table {
						checkInvariants(t, m)
					}
				}
			}
		}
	})
}

// checkInvariants are the promises an accepted policy keeps, whatever the
// options said.
func checkInvariants(t *testing.T, m *policy.Method) {
	t.Helper()
	if !(m.Sampling >= 0 && m.Sampling <= 1) || m.Timeout < 0 {
		t.Fatalf("%s: sampling %v, timeout %v", m.FullMethod, m.Sampling, m.Timeout)
	}
	if r := m.Retry; r != nil {
		if !m.RetrySafe() || r.MaxAttempts < 2 || r.MaxAttempts > MaxRetryAttempts || r.InitialBackoff <= 0 || r.MaxBackoff < r.InitialBackoff || !(r.Multiplier > 0) || len(r.Codes) == 0 {
			t.Fatalf("%s: accepted retry %+v (retry safe %v)", m.FullMethod, r, m.RetrySafe())
		}
		if m.Timeout > 0 && r.InitialBackoff > m.Timeout {
			t.Fatalf("%s: initial backoff %v beyond timeout %v", m.FullMethod, r.InitialBackoff, m.Timeout)
		}
	}
	if id := m.Idempotency; id != nil {
		if m.ClientStreaming || id.TTL <= 0 || id.Lease <= 0 || (m.Timeout > 0 && id.Lease <= m.Timeout) {
			t.Fatalf("%s: accepted idempotency %+v", m.FullMethod, id)
		}
	}
	if rl := m.RateLimit; rl != nil && (!(rl.RPS > 0) || rl.Burst < 1) {
		t.Fatalf("%s: accepted rate limit %+v", m.FullMethod, rl)
	}
	if cb := m.CircuitBreaker; cb != nil && (!(cb.FailureRatio >= 0 && cb.FailureRatio <= 1) || cb.Window <= 0 || cb.OpenFor <= 0 || cb.HalfOpenRequests < 1) {
		t.Fatalf("%s: accepted breaker %+v", m.FullMethod, cb)
	}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
