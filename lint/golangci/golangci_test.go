package golangci_test

import (
	"strings"
	"testing"

	"github.com/golangci/plugin-module-register/register"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/govkit/govern/lint/golangci"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

// load builds the plugin the way golangci-lint does: by name, through the
// registry that importing the package filled.
func load(t *testing.T, settings any) ([]*analysis.Analyzer, register.LinterPlugin) {
	t.Helper()
	newPlugin, err := register.GetPlugin(golangci.Name)
	if err != nil {
		t.Fatalf("plugin %q is not registered: %v", golangci.Name, err)
	}
	plugin, err := newPlugin(settings)
	if err != nil {
		t.Fatalf("new plugin with settings %v: %v", settings, err)
	}
	analyzers, err := plugin.BuildAnalyzers()
	if err != nil {
		t.Fatalf("BuildAnalyzers: %v", err)
	}
	return analyzers, plugin
}

func TestPluginRunsAnalyzers(t *testing.T) {
	analyzers, plugin := load(t, nil)
	if got := plugin.GetLoadMode(); got != register.LoadModeTypesInfo {
		t.Errorf("GetLoadMode() = %q, want %q: the analyzers need type information", got, register.LoadModeTypesInfo)
	}
	if len(analyzers) != 2 {
		t.Fatalf("BuildAnalyzers() returned %d analyzers, want 2", len(analyzers))
	}
	// testdata/src/<name> holds a finding of the analyzer <name>.
	for _, a := range analyzers {
		t.Run(a.Name, func(t *testing.T) {
			analysistest.Run(t, analysistest.TestData(), a, a.Name)
		})
	}
}

func TestPluginSettings(t *testing.T) {
	tests := []struct {
		name     string
		settings any
		want     []string
	}{
		{"no settings", nil, []string{"defaultservemux", "tickerleak"}},
		{"empty settings", map[string]any{}, []string{"defaultservemux", "tickerleak"}},
		{"disable one", map[string]any{"disable": []string{"defaultservemux"}}, []string{"tickerleak"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			analyzers, _ := load(t, tt.settings)
			var got []string
			for _, a := range analyzers {
				got = append(got, a.Name)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("analyzers = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPluginRejectsBadSettings(t *testing.T) {
	newPlugin, err := register.GetPlugin(golangci.Name)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		settings any
		wantErr  string
	}{
		{"unknown analyzer", map[string]any{"disable": []string{"tickerlek"}}, `unknown analyzer "tickerlek"`},
		{"unknown setting", map[string]any{"disabled": []string{"tickerleak"}}, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newPlugin(tt.settings)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
