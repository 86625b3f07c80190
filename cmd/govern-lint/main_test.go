package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func TestInvokedByGoVet(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"-V=full"}, true},
		{[]string{"-flags"}, true},
		{[]string{"--flags"}, true},
		{[]string{"-tickerleak", "/tmp/go-build123/b001/vet.cfg"}, true},
		{[]string{"/tmp/b001/vet.cfg"}, true},
		{[]string{"./..."}, false},
		{[]string{"-fix", "-diff", "./..."}, false},
		{[]string{"-json", "github.com/govkit/govern/..."}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := invokedByGoVet(tt.args); got != tt.want {
			t.Errorf("invokedByGoVet(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}

// buildBinary builds govern-lint into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "govern-lint")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build govern-lint: %v\n%s", err, out)
	}
	return bin
}

// sampleModule copies testdata/sample to a temporary directory, so that
// -fix can rewrite it.
func sampleModule(t *testing.T) string {
	t.Helper()
	return copyModule(t, "sample")
}

// copyModule copies testdata/name to a temporary directory.
func copyModule(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("testdata", name)
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy module %s: %v", name, err)
	}
	return dst
}

// run runs name in dir and returns its combined output and exit code.
func run(t *testing.T, dir, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	default:
		t.Fatalf("run %s %q: %v", name, args, err)
		return "", 0
	}
}

var wantFindings = []string{
	"server.go:10:7: http.HandleFunc registers on http.DefaultServeMux",
	"server.go:14:2: t from time.NewTicker is not stopped on every path",
}

func TestModes(t *testing.T) {
	bin := buildBinary(t)
	dir := sampleModule(t)

	t.Run("standalone", func(t *testing.T) {
		out, code := run(t, dir, bin, "./...")
		if code != 3 {
			t.Errorf("exit code %d, want 3 (diagnostics reported)\n%s", code, out)
		}
		for _, want := range wantFindings {
			if !strings.Contains(out, want) {
				t.Errorf("standalone output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("go vet -vettool", func(t *testing.T) {
		out, code := run(t, dir, "go", "vet", "-vettool="+bin, "./...")
		if code == 0 {
			t.Errorf("go vet exited 0 despite findings:\n%s", out)
		}
		for _, want := range wantFindings {
			if !strings.Contains(out, want) {
				t.Errorf("go vet output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("go vet -vettool with one analyzer selected", func(t *testing.T) {
		out, _ := run(t, dir, "go", "vet", "-vettool="+bin, "-tickerleak", "./...")
		if !strings.Contains(out, wantFindings[1]) || strings.Contains(out, "DefaultServeMux") {
			t.Errorf("-tickerleak should report only tickerleak findings:\n%s", out)
		}
	})

	t.Run("json", func(t *testing.T) {
		out, code := run(t, dir, bin, "-json", "./...")
		if code != 0 {
			t.Errorf("-json exit code %d, want 0\n%s", code, out)
		}
		// package -> analyzer -> diagnostics
		var tree map[string]map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &tree); err != nil {
			t.Fatalf("-json output is not JSON: %v\n%s", err, out)
		}
		pkg := tree["example.com/sample/server"]
		for _, name := range []string{"defaultservemux", "tickerleak"} {
			if len(pkg[name]) == 0 {
				t.Errorf("-json output has no %s diagnostics for the server package:\n%s", name, out)
			}
		}
	})

	t.Run("diff", func(t *testing.T) {
		out, _ := run(t, dir, bin, "-fix", "-diff", "./...")
		if !strings.Contains(out, "+\tdefer t.Stop()") {
			t.Errorf("-fix -diff does not show the defer t.Stop() fix:\n%s", out)
		}
	})

	t.Run("fix", func(t *testing.T) {
		_, _ = run(t, dir, bin, "-fix", "./...")
		fixed, err := os.ReadFile(filepath.Join(dir, "server", "server.go"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(fixed), "t := time.NewTicker(time.Second)\n\tdefer t.Stop()\n") {
			t.Errorf("-fix did not insert defer t.Stop():\n%s", fixed)
		}
		out, _ := run(t, dir, bin, "-tickerleak", "./...")
		if strings.Contains(out, "NewTicker") {
			t.Errorf("tickerleak still reports after -fix:\n%s", out)
		}
	})
}

// TestGoVersionUnderBothDrivers checks that the Go version and GODEBUG of
// the analysed module reach the analyzers in both modes: go vet passes
// them in its *.cfg file, the standalone driver through go/packages.
func TestGoVersionUnderBothDrivers(t *testing.T) {
	bin := buildBinary(t)
	findings := []string{
		"poll.go:8:12: time.Tick in a function that returns leaks a ticker",
		"poll.go:16:2: t from time.NewTicker is not stopped on every path",
	}
	tests := []struct {
		module string
		want   bool
	}{
		{"tick122", true},
		{"tick123", false},
		{"tick123godebug", true},
	}
	for _, tt := range tests {
		dir := copyModule(t, tt.module)
		for _, mode := range []struct {
			name string
			cmd  []string
		}{
			{"standalone", []string{bin, "./..."}},
			{"go vet", []string{"go", "vet", "-vettool=" + bin, "./..."}},
		} {
			t.Run(tt.module+"/"+mode.name, func(t *testing.T) {
				out, _ := run(t, dir, mode.cmd[0], mode.cmd[1:]...)
				for _, finding := range findings {
					if got := strings.Contains(out, finding); got != tt.want {
						t.Errorf("%s reported = %v, want %v; output:\n%s", finding, got, tt.want, out)
					}
				}
			})
		}
	}
}
