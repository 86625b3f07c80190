package lint_test

import (
	"fmt"

	"github.com/govkit/govern/lint"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
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
