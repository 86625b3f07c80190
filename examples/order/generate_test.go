package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/govkit/govern/internal/golden"
)

// TestGeneratedCodeUpToDate regenerates gen/ into a temporary directory with
// gen.sh (real protoc and the module's plugins) and compares: the committed
// code must be what the current protoc-gen-govern produces. Fix a failure
// with `go generate ./examples/order` or `go test ./examples/order -update`.
func TestGeneratedCodeUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four protoc plugins; skipped with -short")
	}
	if _, err := exec.LookPath("protoc"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("protoc is not installed and CI is set")
		}
		t.Skip("protoc is not installed")
	}
	out := t.TempDir()
	cmd := exec.Command("bash", "gen.sh")
	cmd.Env = append(os.Environ(), "GEN_OUT="+out)
	if golden.Update() {
		cmd.Env = os.Environ() // write gen/ itself
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, msg)
	}
	if golden.Update() {
		return
	}
	want := map[string][]byte{}
	walk := func(root string, into map[string][]byte) {
		t.Helper()
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			b, err := os.ReadFile(path)
			into[rel] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	walk(out, want)
	got := map[string][]byte{}
	walk("gen", got)
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("gen/%s is stale: run go generate ./examples/order", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("gen/%s is no longer generated: run go generate ./examples/order", name)
		}
	}
}
