package redoclylint

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/govkit/govern/internal/golden" // accepts go test ./... -update
)

// TestGeneratedOpenAPIPassesRedocly lints every committed OpenAPI document
// (git ls-files '*.openapi.*': the plugin's goldens and the generated
// trees) with the repository's redocly.yaml, in one redocly invocation.
func TestGeneratedOpenAPIPassesRedocly(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ls := exec.Command("git", "ls-files", "*.openapi.yaml", "*.openapi.json")
	ls.Dir = root
	out, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	files := strings.Fields(string(out))
	if len(files) == 0 {
		t.Fatal("git ls-files lists no *.openapi.* file: the generated documents are missing")
	}
	for i, f := range files {
		files[i] = filepath.Join(root, f)
	}

	dir, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	redocly, err := Install(t.Context(), dir)
	if err != nil {
		msg := "redocly is not installed and could not be (" + err.Error() + "); run: " + InstallCommand(dir)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; CI requires it")
		}
		t.Skip(msg)
	}
	report, err := Lint(context.Background(), redocly, filepath.Join(root, "redocly.yaml"), files)
	if err != nil {
		t.Fatalf("%v: rerun `go generate ./examples/order`, scripts/protoc-all.sh's callers and `go test ./internal/govgen ./cmd/protoc-gen-govern -update` after fixing internal/govgen/openapi.go, or turn the rule off in redocly.yaml with the reason\n%s", err, report)
	}
	t.Logf("redocly lint over %d documents:\n%s", len(files), report)
}
