package lint_test

import (
	"testing"

	"golang.org/x/tools/go/analysis"

	"github.com/govkit/govern/lint"
)

func TestAnalyzersAreValid(t *testing.T) {
	analyzers := lint.Analyzers()
	if err := analysis.Validate(analyzers); err != nil {
		t.Fatalf("analyzers do not validate: %v", err)
	}
	names := map[string]bool{}
	for _, a := range analyzers {
		names[a.Name] = true
	}
	for _, want := range []string{"defaultservemux", "tickerleak"} {
		if !names[want] {
			t.Errorf("Analyzers() lacks %q; got %v", want, names)
		}
	}
	analyzers[0] = nil
	if lint.Analyzers()[0] == nil {
		t.Error("Analyzers() returned a shared slice; callers could corrupt it")
	}
}
