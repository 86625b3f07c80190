package lint

import (
	"golang.org/x/tools/go/analysis"

	"github.com/govkit/govern/lint/defaultservemux"
	"github.com/govkit/govern/lint/tickerleak"
)

// Analyzers returns govern's analyzers, in a new slice each call so that
// callers may filter it.
func Analyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{
		defaultservemux.Analyzer,
		tickerleak.Analyzer,
	}
}
