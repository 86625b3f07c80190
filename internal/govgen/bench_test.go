package govgen

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
)

const (
	fleetServices = 127
	fleetMethods  = 10
)

// writeFleet writes fleetServices proto files, one service of fleetMethods
// governed methods each, every method with HTTP routes, and returns their
// directory and names.
func writeFleet(tb testing.TB) (string, []string) {
	tb.Helper()
	dir := tb.TempDir()
	var names []string
	for s := range fleetServices {
		var b strings.Builder
		fmt.Fprintf(&b, "syntax = \"proto3\";\npackage fleet.s%d.v1;\n", s)
		b.WriteString("import \"google/api/annotations.proto\";\nimport \"govern/v1/govern.proto\";\n")
		fmt.Fprintf(&b, "option go_package = \"example.com/fleet/s%d;s%d\";\n", s, s)
		b.WriteString("option (govern.v1.file) = {tier: TIER_SILVER timeout: \"2s\"};\n")
		fmt.Fprintf(&b, "service Service%d {\n  option (govern.v1.service).circuit_breaker = {failure_ratio: 0.5};\n", s)
		for m := range fleetMethods {
			fmt.Fprintf(&b, "  rpc Method%d(Request) returns (Response) {\n", m)
			fmt.Fprintf(&b, "    option (google.api.http) = {post: \"/v1/s%d/m%d\" body: \"*\"};\n", s, m)
			if m%2 == 0 {
				b.WriteString("    option (govern.v1.method) = {tier: TIER_GOLD timeout: \"800ms\" idempotency: {required: true key_fields: [\"client_id\", \"order.sn\"]} retry: {max_attempts: 3} rate_limit: {rps: 100}};\n")
			} else {
				b.WriteString("    option idempotency_level = NO_SIDE_EFFECTS;\n    option (govern.v1.method).retry = {adaptive: true};\n")
			}
			b.WriteString("  }\n")
		}
		b.WriteString("}\nmessage Order { string sn = 1; int64 amount = 2; }\n")
		b.WriteString("message Request { string client_id = 1; Order order = 2; }\nmessage Response { string id = 1; }\n")
		name := fmt.Sprintf("s%d.proto", s)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
		names = append(names, name)
	}
	return dir, names
}

// BenchmarkFleet compares protoc-gen-govern with protoc-gen-go-grpc on the
// same CodeGeneratorRequest of 127 services x 10 methods. Both plugins run
// as built binaries with the request on stdin, as protoc runs them
// (process start included for both); "govern-in-process" is the same
// generation without the process, as govscaffold runs it.
func BenchmarkFleet(b *testing.B) {
	dir, names := writeFleet(b)
	req := compileRequest(b, "paths=source_relative", append([]string{dir}, protoImportPaths...), names...)
	in, err := proto.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	bin := b.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(os.PathSeparator),
		"google.golang.org/grpc/cmd/protoc-gen-go-grpc", "./cmd/protoc-gen-govern")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building plugins: %v\n%s", err, out)
	}
	// Wall time is noisy on a shared machine; the CPU time the plugin
	// process used (user + system) is reported too, as cpu-ms/op.
	runBinary := func(b *testing.B, name string, env ...string) {
		var cpu time.Duration
		for b.Loop() {
			cmd := exec.Command(filepath.Join(bin, name))
			cmd.Env = append(os.Environ(), env...)
			cmd.Stdin = bytes.NewReader(in)
			var out bytes.Buffer
			cmd.Stdout = &out
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
			if out.Len() == 0 {
				b.Fatal("empty response")
			}
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	}
	b.Run("protoc-gen-go-grpc", func(b *testing.B) { runBinary(b, "protoc-gen-go-grpc") })
	// protoc-gen-govern sets GOGC=400 itself (see its main.go); the same
	// setting for protoc-gen-go-grpc shows the generators on equal terms.
	b.Run("protoc-gen-go-grpc-GOGC400", func(b *testing.B) { runBinary(b, "protoc-gen-go-grpc", "GOGC=400") })
	b.Run("protoc-gen-govern", func(b *testing.B) { runBinary(b, "protoc-gen-govern") })
	b.Run("protoc-gen-govern-GOGC100", func(b *testing.B) { runBinary(b, "protoc-gen-govern", "GOGC=100") })
	// The machine's load changes over a run, which skews sub-benchmarks
	// that run one after the other: "interleaved" runs both plugins in
	// every iteration and reports each one's CPU time and their ratio.
	// "interleaved-GOGC400" gives protoc-gen-go-grpc govern's GC setting.
	interleaved := func(b *testing.B, goGRPCEnv ...string) {
		var goGRPC, govern time.Duration
		for b.Loop() {
			for _, name := range []string{"protoc-gen-go-grpc", "protoc-gen-govern"} {
				cmd := exec.Command(filepath.Join(bin, name))
				cmd.Stdin = bytes.NewReader(in)
				if name == "protoc-gen-go-grpc" {
					cmd.Env = append(os.Environ(), goGRPCEnv...)
				}
				if err := cmd.Run(); err != nil {
					b.Fatal(err)
				}
				cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				if name == "protoc-gen-govern" {
					govern += cpu
				} else {
					goGRPC += cpu
				}
			}
		}
		b.ReportMetric(float64(goGRPC.Milliseconds())/float64(b.N), "go-grpc-cpu-ms/op")
		b.ReportMetric(float64(govern.Milliseconds())/float64(b.N), "govern-cpu-ms/op")
		b.ReportMetric(float64(govern)/float64(goGRPC), "govern/go-grpc")
	}
	b.Run("interleaved", func(b *testing.B) { interleaved(b) })
	b.Run("interleaved-GOGC400", func(b *testing.B) { interleaved(b, "GOGC=400") })
	b.Run("govern-in-process", func(b *testing.B) {
		for b.Loop() {
			if _, err := Run(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestFleetGenerates keeps the benchmark input honest: the fleet is valid
// and every service gets its output.
func TestFleetGenerates(t *testing.T) {
	dir, names := writeFleet(t)
	resp := generate(t, compileRequest(t, "paths=source_relative", append([]string{dir}, protoImportPaths...), names...))
	if resp.Error != nil {
		t.Fatal(resp.GetError())
	}
	if len(resp.File) != fleetServices {
		t.Fatalf("%d files, want %d", len(resp.File), fleetServices)
	}
}
