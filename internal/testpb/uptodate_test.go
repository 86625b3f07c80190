package testpb_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/govkit/govern/internal/golden"
)

// TestGeneratedCodeIsUpToDate regenerates testv1 with gen.sh (real protoc,
// pinned plugins, this tree's protoc-gen-govern) and compares: a change to
// the proto or the generator must come with regenerated code.
func TestGeneratedCodeIsUpToDate(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("protoc not found and CI is set: install protobuf-compiler")
		}
		t.Skip("protoc not found")
	}
	if testing.Short() {
		t.Skip("builds four plugins; skipped with -short")
	}
	out := t.TempDir()
	if golden.Update() {
		out = "."
	}
	cmd := exec.Command("bash", "gen.sh", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, b)
	}
	generated, err := filepath.Glob(filepath.Join(out, "testv1", "*"))
	if err != nil || len(generated) < 4 {
		t.Fatalf("gen.sh produced %v (%v)", generated, err)
	}
	for _, path := range generated {
		name := filepath.Base(path)
		got, _ := os.ReadFile(path)
		want, err := os.ReadFile(filepath.Join("testv1", name))
		if err != nil {
			t.Errorf("testv1/%s is generated but not committed: run go generate ./internal/testpb/", name)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("testv1/%s is out of date: run go generate ./internal/testpb/", name)
		}
	}
}
