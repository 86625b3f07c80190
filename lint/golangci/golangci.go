package golangci

import (
	"fmt"
	"slices"

	"github.com/golangci/plugin-module-register/register"
	"golang.org/x/tools/go/analysis"

	"github.com/govkit/govern/lint"
)

// Name is the name the plugin registers under, and the one to use in
// .golangci.yml (linters.settings.custom.govern).
const Name = "govern"

func init() {
	register.Plugin(Name, New)
}

// Settings are the plugin's options, decoded from
// linters.settings.custom.govern.settings.
type Settings struct {
	// Disable lists analyzers, by name, that the plugin does not run.
	Disable []string `json:"disable"`
}

// Plugin is govern's golangci-lint plugin.
type Plugin struct {
	settings Settings
}

var _ register.LinterPlugin = (*Plugin)(nil)

// New builds the plugin from golangci-lint's raw settings (nil when none
// are given). Unknown settings and unknown analyzer names are errors, so
// that a typo does not silently turn a check off.
func New(rawSettings any) (register.LinterPlugin, error) {
	settings, err := register.DecodeSettings[Settings](rawSettings)
	if err != nil {
		return nil, fmt.Errorf("govern plugin: read linters.settings.custom.govern.settings: %w", err)
	}
	known := names(lint.Analyzers())
	for _, name := range settings.Disable {
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("govern plugin: disable lists unknown analyzer %q; the analyzers are %v", name, known)
		}
	}
	return &Plugin{settings: settings}, nil
}

// BuildAnalyzers returns the analyzers not disabled in the settings.
func (p *Plugin) BuildAnalyzers() ([]*analysis.Analyzer, error) {
	var enabled []*analysis.Analyzer
	for _, a := range lint.Analyzers() {
		if !slices.Contains(p.settings.Disable, a.Name) {
			enabled = append(enabled, a)
		}
	}
	return enabled, nil
}

// GetLoadMode tells golangci-lint that the analyzers need type
// information.
func (p *Plugin) GetLoadMode() string {
	return register.LoadModeTypesInfo
}

func names(analyzers []*analysis.Analyzer) []string {
	out := make([]string, len(analyzers))
	for i, a := range analyzers {
		out[i] = a.Name
	}
	return out
}
