package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update is the module-wide -update flag. It lives on flag.CommandLine
// because that is the flag set go test parses; this package is linked only
// into test binaries.
var update = flag.Bool("update", false, "rewrite golden files instead of comparing with them")

// Update reports whether the test binary runs with -update: tests whose
// golden files are a generated tree (rewritten by a script rather than by
// Check) regenerate in place instead of comparing.
func Update() bool {
	return *update
}

// Check compares got with the golden file at path. Under -update it writes
// got to path instead, creating the directory, and the test passes. A
// mismatch fails the test with a line diff and the command that rewrites
// the file; a missing file fails it with the same command.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("creating the directory of golden file %s: %v", path, err)
			return
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("rewriting golden file %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file: %v (go test -update creates it)", err)
		return
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the output (go test -update rewrites it; review with git diff):\n%s", path, Diff(string(want), string(got)))
	}
}
