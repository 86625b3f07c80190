package lint_test

import (
	"fmt"

	"github.com/govkit/govern/lint"
)

// Listing the analyzers a driver runs.
func ExampleAnalyzers() {
	for _, a := range lint.Analyzers() {
		fmt.Println(a.Name)
	}
	// Output:
	// defaultservemux
	// tickerleak
}
