package defaultservemux_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/govkit/govern/lint/defaultservemux"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

// testPackages are the packages under testdata/src, with what each covers.
// They are analysed in one Run: loading net/http from source dominates the
// test's time, so it is loaded once.
var testPackages = []struct{ pkg, covers string }{
	{"a", "true positives, and negatives that must stay silent"},
	{"dotimport", "net/http through an import alias and a dot import"},
	{"usesfake", "a package named http that is not net/http"},
	{"imports", "blank imports that register on DefaultServeMux; a named one that does not count"},
}

func TestAnalyzer(t *testing.T) {
	patterns := make([]string, len(testPackages))
	for i, p := range testPackages {
		patterns[i] = p.pkg
	}
	results := analysistest.Run(t, analysistest.TestData(), defaultservemux.Analyzer, patterns...)
	if len(results) != len(testPackages) {
		t.Errorf("analysed %d packages, want %d: a test package failed to load", len(results), len(testPackages))
	}
}
