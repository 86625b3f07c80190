package tickerleak

import (
	"go/ast"
	"go/version"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/tools/go/analysis"
)

// asyncTimerChanKey is the GODEBUG setting that restores the pre-Go 1.23
// timer implementation, in which unreferenced tickers are never collected.
const asyncTimerChanKey = "asynctimerchan"

// firstCollectingVersion is the first Go version whose runtime collects
// unreferenced, unstopped tickers.
const firstCollectingVersion = "go1.23"

// leakRule decides, once per package, whether a ticker or timer that
// nothing refers to any more leaks: below Go 1.23, or where GODEBUG
// asynctimerchan=1 restores the old timers. The unstopped and time.Tick
// rules apply only where it does.
type leakRule struct {
	// godebug is the explicit asynctimerchan value ("0", "1") from a
	// //go:debug directive or go.mod, and where it came from.
	godebug, source string
}

func (c *checker) leakRule() *leakRule {
	if c.rule == nil {
		c.rule = readLeakRule(c.pass)
	}
	return c.rule
}

// readLeakRule reads asynctimerchan from //go:debug directives of the
// package (they win) and from the godebug lines of the module's go.mod.
func readLeakRule(pass *analysis.Pass) *leakRule {
	for _, file := range pass.Files {
		for _, group := range file.Comments {
			for _, comment := range group.List {
				if value, ok := goDebugDirective(comment.Text); ok {
					return &leakRule{godebug: value, source: "//go:debug " + asyncTimerChanKey + "=" + value}
				}
			}
		}
	}
	if pass.Module == nil || pass.Module.Path == "" || len(pass.Files) == 0 {
		return &leakRule{}
	}
	gomod := findGoMod(filepath.Dir(pass.Fset.File(pass.Files[0].Pos()).Name()))
	if gomod == "" {
		return &leakRule{}
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return &leakRule{}
	}
	// Parse, not ParseLax: the lax parser drops godebug lines, which only
	// apply to a main module, and a main module is what is analysed.
	f, err := modfile.Parse(gomod, data, nil)
	if err != nil {
		return &leakRule{}
	}
	rule := &leakRule{}
	for _, g := range f.Godebug {
		switch {
		case g.Key == asyncTimerChanKey:
			return &leakRule{godebug: g.Value, source: "go.mod godebug " + asyncTimerChanKey + "=" + g.Value}
		case g.Key == "default" && version.IsValid(g.Value) && version.Compare(g.Value, firstCollectingVersion) < 0:
			rule = &leakRule{godebug: "1", source: "go.mod godebug default=" + g.Value}
		}
	}
	return rule
}

// goDebugDirective parses "//go:debug asynctimerchan=V" (possibly with
// other settings on the same line).
func goDebugDirective(text string) (string, bool) {
	rest, ok := strings.CutPrefix(text, "//go:debug ")
	if !ok {
		return "", false
	}
	for _, setting := range strings.FieldsFunc(rest, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
		if key, value, ok := strings.Cut(setting, "="); ok && key == asyncTimerChanKey {
			return value, true
		}
	}
	return "", false
}

// findGoMod returns the nearest go.mod at or above dir, or "".
func findGoMod(dir string) string {
	for {
		candidate := filepath.Join(dir, "go.mod")
		if _, err := os.Stat(candidate); err == nil {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// leaks reports whether an unreferenced ticker or timer created in file
// leaks, and why (the reason the diagnostics quote).
func (r *leakRule) leaks(pass *analysis.Pass, file *ast.File) (bool, string) {
	switch r.godebug {
	case "1":
		return true, r.source
	case "0":
		return false, ""
	}
	v := pass.TypesInfo.FileVersions[file]
	if v == "" {
		v = pass.Pkg.GoVersion()
	}
	if v == "" || !version.IsValid(v) {
		return false, "" // unknown: assume a current toolchain
	}
	if version.Compare(v, firstCollectingVersion) < 0 {
		return true, "Go version " + strings.TrimPrefix(v, "go") + " < 1.23"
	}
	return false, ""
}
