package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name, want, got, diff string
	}{
		{name: "equal", want: "a\nb\n", got: "a\nb\n", diff: ""},
		{
			name: "changed line keeps context",
			want: "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
			got:  "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
			diff: "@@ -2 +2 @@\n  2\n  3\n  4\n- 5\n+ five\n  6\n  7\n  8\n",
		},
		{
			name: "added and removed lines",
			want: "a\nb\nc\n",
			got:  "a\nc\nd\n",
			diff: "@@ -1 +1 @@\n  a\n- b\n  c\n+ d\n",
		},
		{
			name: "missing final newline",
			want: "a\n",
			got:  "a",
			diff: "@@ -1 +1 @@\n- a\n+ a (no newline at end of file)\n",
		},
		{
			name: "distant changes are separate hunks",
			want: "x\n1\n2\n3\n4\n5\n6\n7\n8\n9\ny\n",
			got:  "X\n1\n2\n3\n4\n5\n6\n7\n8\n9\nY\n",
			diff: "@@ -1 +1 @@\n- x\n+ X\n  1\n  2\n  3\n@@ -8 +8 @@\n  7\n  8\n  9\n- y\n+ Y\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Diff(tt.want, tt.got); got != tt.diff {
				t.Errorf("Diff =\n%s\nwant\n%s", got, tt.diff)
			}
		})
	}
}

func TestDiffIsBounded(t *testing.T) {
	var want, got strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&want, "line %d\n", i)
		fmt.Fprintf(&got, "LINE %d\n", i)
	}
	d := Diff(want.String(), got.String())
	if n := strings.Count(d, "\n"); n > diffMaxLines+2 {
		t.Errorf("diff of a rewritten 5000-line file has %d lines, want at most %d", n, diffMaxLines+2)
	}
	if !strings.Contains(d, "- line 0\n+ LINE 0\n") && !strings.Contains(d, "- line 0\n") {
		t.Errorf("diff does not start at the first change:\n%.200s", d)
	}
}

// recorder stands in for the *testing.T that Check reports to.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.golden")
	if err := os.WriteFile(path, []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	var r recorder
	Check(&r, path, []byte("a\nb\n"))
	if len(r.errors) != 0 {
		t.Errorf("equal output reported %q", r.errors)
	}

	r = recorder{}
	Check(&r, path, []byte("a\nc\n"))
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "- b\n+ c\n") || !strings.Contains(r.errors[0], "go test -update") {
		t.Errorf("different output reported %q, want one error with the diff and the -update hint", r.errors)
	}

	r = recorder{}
	Check(&r, filepath.Join(dir, "missing.golden"), []byte("a\n"))
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "go test -update creates it") {
		t.Errorf("missing golden file reported %q, want the -update hint", r.errors)
	}
}

func TestCheckUpdateRewrites(t *testing.T) {
	defer func(old bool) { *update = old }(*update)
	*update = true
	path := filepath.Join(t.TempDir(), "new", "dir", "out.golden")
	var r recorder
	Check(&r, path, []byte("fresh\n"))
	if len(r.errors) != 0 {
		t.Fatalf("-update reported %q", r.errors)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "fresh\n" {
		t.Errorf("-update wrote %q, %v; want the output in a new directory", b, err)
	}
}
