package governv1_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/govkit/govern/internal/golden"
)

// TestGovernPbGoIsUpToDate regenerates govern.pb.go from govern.proto and
// compares, ignoring the protoc version line of the header (CI may run
// another protoc release).
func TestGovernPbGoIsUpToDate(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("protoc not found and CI is set: install protobuf-compiler")
		}
		t.Skip("protoc not found")
	}
	out := t.TempDir()
	if golden.Update() {
		out = "." // gen.sh runs in proto/
	}
	if b, err := exec.Command("bash", "../../gen.sh", out).CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, b)
	}
	if golden.Update() {
		return // regenerated in place (gen.sh writes relative to proto/)
	}
	got, err := os.ReadFile(filepath.Join(out, "govern", "v1", "govern.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("govern.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	protocLine := regexp.MustCompile(`(?m)^// \tprotoc +\S+$`)
	if protocLine.ReplaceAllString(string(got), "") != protocLine.ReplaceAllString(string(want), "") {
		t.Error("govern.pb.go is stale: run go generate ./proto/govern/v1/ and commit it")
	}
}
