package defaultservemux_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/govkit/govern/lint/defaultservemux"
)

func TestAnalyzer(t *testing.T) {
	tests := []struct {
		name string
		pkg  string
	}{
		{"true positives and negatives", "a"},
		{"alias and dot import", "dotimport"},
		{"package named http that is not net/http", "usesfake"},
		{"init-registering imports", "imports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			analysistest.Run(t, analysistest.TestData(), defaultservemux.Analyzer, tt.pkg)
		})
	}
}
