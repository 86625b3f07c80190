package tickerleak

import (
	"go/ast"
	"strings"
)

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
	leaks, why := c.leakRule().leaks(c.pass, file)
	if !leaks {
		return
	}
	c.pass.ReportRangef(call, "time.Tick in a function that returns leaks a ticker on every call (%s: unreferenced tickers are never collected); use t := time.NewTicker(d) and defer t.Stop()", why)
}
