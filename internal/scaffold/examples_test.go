package scaffold_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/govkit/govern/internal/scaffold"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

// A platform team overrides one template by its relative path; every other
// template stays embedded.
func ExampleNewTemplateSet() {
	dir, err := os.MkdirTemp("", "templates")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile.tmpl"), []byte("FROM platform/base\n"), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	set, err := scaffold.NewTemplateSet(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	templates, err := set.Templates()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range templates {
		if t.Name == "Dockerfile.tmpl" || t.Name == "Makefile.tmpl" {
			fmt.Println(t.Name, strings.HasPrefix(t.Source, dir))
		}
	}
	// Output:
	// Dockerfile.tmpl true
	// Makefile.tmpl false
}
