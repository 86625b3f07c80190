package oasgen

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/govkit/govern/internal/golden"
)

// TestExampleIsGenerated regenerates examples/httporders/api from its
// api.yaml: the committed files are the golden files of the generator
// (go test ./internal/oasgen -update rewrites them), and the example's own
// tests build and serve them.
func TestExampleIsGenerated(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "httporders")
	data, err := os.ReadFile(filepath.Join(dir, "api.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := Generate(data, Options{Package: "api", Source: "api.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		golden.Check(t, filepath.Join(dir, "api", name), content)
	}
}
