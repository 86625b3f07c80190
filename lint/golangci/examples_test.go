package golangci_test

import (
	"fmt"

	"github.com/golangci/plugin-module-register/register"

	_ "github.com/govkit/govern/lint/golangci" // registers the "govern" plugin
)

// How golangci-lint finds and builds the plugin, with the settings of
// linters.settings.custom.govern.settings.
func Example() {
	newPlugin, err := register.GetPlugin("govern")
	if err != nil {
		fmt.Println(err)
		return
	}
	plugin, err := newPlugin(map[string]any{"disable": []string{"defaultservemux"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	analyzers, _ := plugin.BuildAnalyzers()
	for _, a := range analyzers {
		fmt.Println(a.Name, plugin.GetLoadMode())
	}
	// Output:
	// tickerleak typesinfo
}
