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

// tickRule decides, once per package, whether time.Tick leaks.
type tickRule struct {
	// godebug is the explicit asynctimerchan value ("0", "1") from a
	// //go:debug directive or go.mod, and where it came from.
	godebug, source string
}

func (c *checker) tickRule() *tickRule {
	if c.tick == nil {
		c.tick = readTickRule(c.pass)
	}
	return c.tick
}

// readTickRule reads asynctimerchan from //go:debug directives of the
// package (they win) and from the godebug lines of the module's go.mod.
func readTickRule(pass *analysis.Pass) *tickRule {
	for _, file := range pass.Files {
		for _, group := range file.Comments {
			for _, comment := range group.List {
				if value, ok := goDebugDirective(comment.Text); ok {
					return &tickRule{godebug: value, source: "//go:debug " + asyncTimerChanKey + "=" + value}
				}
			}
		}
	}
	if pass.Module == nil || pass.Module.Path == "" || len(pass.Files) == 0 {
		return &tickRule{}
	}
	gomod := findGoMod(filepath.Dir(pass.Fset.File(pass.Files[0].Pos()).Name()))
	if gomod == "" {
		return &tickRule{}
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return &tickRule{}
	}
	// Parse, not ParseLax: the lax parser drops godebug lines, which only
	// apply to a main module, and a main module is what is analysed.
	f, err := modfile.Parse(gomod, data, nil)
	if err != nil {
		return &tickRule{}
	}
	rule := &tickRule{}
	for _, g := range f.Godebug {
		switch {
		case g.Key == asyncTimerChanKey:
			return &tickRule{godebug: g.Value, source: "go.mod godebug " + asyncTimerChanKey + "=" + g.Value}
		case g.Key == "default" && version.IsValid(g.Value) && version.Compare(g.Value, firstCollectingVersion) < 0:
			rule = &tickRule{godebug: "1", source: "go.mod godebug default=" + g.Value}
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

// leaks reports whether time.Tick in file leaks its ticker, and why.
func (r *tickRule) leaks(pass *analysis.Pass, file *ast.File) (bool, string) {
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

// checkTick reports time.Tick in a function that returns, outside tests,
// main.main and init, where the package's Go version or GODEBUG makes the
// ticker uncollectable.
func (c *checker) checkTick(call *ast.CallExpr, stack []ast.Node) {
	file, ok := stack[0].(*ast.File)
	if !ok || strings.HasSuffix(c.pass.Fset.File(file.Pos()).Name(), "_test.go") {
		return
	}
	var body *ast.BlockStmt
	for i := len(stack) - 1; i >= 0 && body == nil; i-- {
		switch fn := stack[i].(type) {
		case *ast.FuncLit:
			body = fn.Body
		case *ast.FuncDecl:
			if c.isMainLike(fn) {
				return
			}
			body = fn.Body
		}
	}
	if body == nil || c.neverReturns(body) {
		return // package level, or a function that never returns
	}
	leaks, why := c.tickRule().leaks(c.pass, file)
	if !leaks {
		return
	}
	c.pass.ReportRangef(call, "time.Tick in a function that returns leaks a ticker on every call (%s: unreferenced tickers are never collected); use t := time.NewTicker(d) and defer t.Stop()", why)
}
