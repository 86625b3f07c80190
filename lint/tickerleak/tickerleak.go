package tickerleak

import (
	"go/ast"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/cfg"

	"github.com/govkit/govern/lint/internal/lintutil"
)

// Analyzer reports goroutines looping on a ticker with no exit
// (goroutine.go) and, where an unreferenced ticker leaks (Go < 1.23 or
// asynctimerchan=1, version.go), unstopped tickers and timers
// (unstopped.go) and time.Tick in a function that returns (tick.go).
var Analyzer = &analysis.Analyzer{
	Name:     "tickerleak",
	Doc:      "report unstopped time.NewTicker/NewTimer results, endless ticker loops in goroutines, and leaking time.Tick calls",
	URL:      "https://pkg.go.dev/github.com/govkit/govern/lint/tickerleak",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      run,
}

const timePath = "time"

// checker holds the per-package state of one run.
type checker struct {
	pass  *analysis.Pass
	cfgs  map[*ast.BlockStmt]*cfg.CFG
	decls map[*types.Func]*ast.FuncDecl
	// tickChanVars maps local variables holding a ticker or timer channel
	// (tick := time.Tick(d), c := t.C) to "ticker" or "timer".
	tickChanVars map[*types.Var]string
	// reportedLoops keeps a loop reported once even when its function is
	// started by several go statements.
	reportedLoops map[ast.Node]bool
	// rule says whether unreferenced tickers and timers leak here (Go
	// version, GODEBUG); read once, on first use.
	rule *leakRule
}

func run(pass *analysis.Pass) (any, error) {
	if !importsTime(pass.Pkg) {
		return nil, nil
	}
	c := &checker{
		pass:          pass,
		cfgs:          make(map[*ast.BlockStmt]*cfg.CFG),
		decls:         make(map[*types.Func]*ast.FuncDecl),
		reportedLoops: make(map[ast.Node]bool),
	}
	for _, file := range pass.Files {
		for _, decl := range file.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Body != nil {
				if fn, ok := pass.TypesInfo.Defs[fd.Name].(*types.Func); ok {
					c.decls[fn] = fd
				}
			}
		}
	}

	insp := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	nodeTypes := []ast.Node{
		(*ast.FuncDecl)(nil),
		(*ast.FuncLit)(nil),
		(*ast.GoStmt)(nil),
		(*ast.CallExpr)(nil),
	}
	insp.WithStack(nodeTypes, func(n ast.Node, push bool, stack []ast.Node) bool {
		if !push {
			return true
		}
		switch n := n.(type) {
		case *ast.FuncDecl:
			if n.Body != nil && !c.isMainMain(n) {
				c.checkUnstopped(stack[0].(*ast.File), n, n.Type, n.Body)
			}
		case *ast.FuncLit:
			c.checkUnstopped(stack[0].(*ast.File), n, n.Type, n.Body)
		case *ast.GoStmt:
			if !c.inMainLike(stack) {
				c.checkGoroutine(n)
			}
		case *ast.CallExpr:
			if lintutil.IsPackageCall(pass.TypesInfo, n, timePath, "Tick") {
				c.checkTick(n, stack)
			}
		}
		return true
	})
	return nil, nil
}

func importsTime(pkg *types.Package) bool {
	if pkg.Path() == timePath {
		return false
	}
	for _, imp := range pkg.Imports() {
		if imp.Path() == timePath {
			return true
		}
	}
	return false
}

func (c *checker) isMainMain(fd *ast.FuncDecl) bool {
	return fd.Recv == nil && fd.Name.Name == "main" && c.pass.Pkg.Name() == "main"
}

// isMainLike reports whether fd is a function that lives as long as the
// process by design: main.main, init, or TestMain.
func (c *checker) isMainLike(fd *ast.FuncDecl) bool {
	if fd.Recv != nil {
		return false
	}
	switch fd.Name.Name {
	case "init":
		return true
	case "main":
		return c.pass.Pkg.Name() == "main"
	case "TestMain":
		return strings.HasSuffix(c.pass.Fset.File(fd.Pos()).Name(), "_test.go")
	}
	return false
}

func (c *checker) inMainLike(stack []ast.Node) bool {
	for _, n := range stack {
		if fd, ok := n.(*ast.FuncDecl); ok {
			return c.isMainLike(fd)
		}
	}
	return false
}
