package tickerleak_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/govkit/govern/lint/tickerleak"
)

func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), tickerleak.Analyzer, "a", "mainpkg")
}

func TestSuggestedFix(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), tickerleak.Analyzer, "fix")
}
