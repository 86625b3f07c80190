package tickerleak_test

import (
	"path/filepath"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/govkit/govern/lint/tickerleak"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), tickerleak.Analyzer, "a", "mainpkg", "dotimport", "usesfake")
}

func TestSuggestedFix(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), tickerleak.Analyzer, "fix")
}

// TestTickVersionGate runs the analyzer over modules that differ only in
// their Go version and GODEBUG settings: time.Tick in a returning function
// is reported below Go 1.23 or with asynctimerchan=1, and the goroutine
// form at every version.
func TestTickVersionGate(t *testing.T) {
	tests := []struct {
		name, module string
	}{
		{"go 1.22 module", "go122"},
		{"go 1.23 module", "go123"},
		{"go 1.23 with go.mod godebug asynctimerchan=1", "go123godebug"},
		{"go 1.23 with //go:debug asynctimerchan=1", "go123directive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			analysistest.Run(t, filepath.Join(analysistest.TestData(), tt.module), tickerleak.Analyzer, "./...")
		})
	}
}
