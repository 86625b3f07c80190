package tickerleak

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/types/typeutil"

	"github.com/govkit/govern/lint/internal/lintutil"
)

// checkGoroutine is the goroutine rule, at every Go version: the loops of
// the function g starts that receive from a ticker or timer channel and
// can never be left.
func (c *checker) checkGoroutine(g *ast.GoStmt) {
	var body *ast.BlockStmt
	switch fun := ast.Unparen(g.Call.Fun).(type) {
	case *ast.FuncLit:
		body = fun.Body
	default:
		if fn := typeutil.StaticCallee(c.pass.TypesInfo, g.Call); fn != nil {
			if fd := c.decls[fn.Origin()]; fd != nil {
				body = fd.Body
			}
		}
	}
	if body == nil {
		return
	}
	ast.PreorderStack(body, nil, func(n ast.Node, stack []ast.Node) bool {
		var loopBody *ast.BlockStmt
		var kind string
		switch loop := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ForStmt:
			if loop.Cond != nil {
				return true
			}
			loopBody = loop.Body
		case *ast.RangeStmt:
			kind = c.tickerChan(loop.X)
			loopBody = loop.Body
		default:
			return true
		}
		if kind == "" {
			kind = c.receivesTicker(loopBody)
		}
		if kind == "" {
			return true
		}
		var label *ast.Ident
		if len(stack) > 0 {
			if ls, ok := stack[len(stack)-1].(*ast.LabeledStmt); ok {
				label = ls.Label
			}
		}
		if c.hasExit(loopBody, label) {
			return true
		}
		if !c.reportedLoops[n] {
			c.reportedLoops[n] = true
			c.pass.ReportRangef(loopHead(n), "goroutine loops on a %s channel with no exit, so the goroutine and its %s leak; add a case that leaves the loop: case <-ctx.Done(): return", kind, kind)
		}
		return false
	})
}

// loopHead is the range reported for a loop: its keyword, not its body.
func loopHead(n ast.Node) ast.Node {
	switch loop := n.(type) {
	case *ast.ForStmt:
		return &ast.Ident{NamePos: loop.For, Name: "for"}
	case *ast.RangeStmt:
		return &ast.Ident{NamePos: loop.For, Name: "for"}
	}
	return n
}

// receivesTicker returns the kind of ticker channel body receives from,
// outside nested function literals, or "".
func (c *checker) receivesTicker(body *ast.BlockStmt) string {
	kind := ""
	ast.Inspect(body, func(n ast.Node) bool {
		if kind != "" {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				kind = c.tickerChan(n.X)
			}
		case *ast.RangeStmt:
			kind = c.tickerChan(n.X)
		}
		return kind == ""
	})
	return kind
}

// hasExit reports whether control can leave the loop whose body is body
// (and whose label, if any, is label): a return, a goto, a break that
// targets the loop or an outer statement, a continue to an outer loop, or
// a call that never returns.
func (c *checker) hasExit(body *ast.BlockStmt, label *ast.Ident) bool {
	info := c.pass.TypesInfo
	var loopLabel types.Object
	if label != nil {
		loopLabel = info.Defs[label]
	}
	inner := make(map[types.Object]bool) // labels declared inside the loop
	ast.Inspect(body, func(n ast.Node) bool {
		if ls, ok := n.(*ast.LabeledStmt); ok {
			inner[info.Defs[ls.Label]] = true
		}
		_, lit := n.(*ast.FuncLit)
		return !lit
	})
	exit := false
	ast.PreorderStack(body, nil, func(n ast.Node, stack []ast.Node) bool {
		if exit {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			exit = true
		case *ast.CallExpr:
			if !lintutil.MayReturn(info, n) {
				exit = true
			}
		case *ast.BranchStmt:
			switch n.Tok {
			case token.GOTO:
				exit = true
			case token.BREAK:
				if n.Label == nil {
					exit = !insideBreakable(stack)
				} else {
					exit = !inner[info.Uses[n.Label]]
				}
			case token.CONTINUE:
				if n.Label != nil {
					obj := info.Uses[n.Label]
					exit = obj != loopLabel && !inner[obj]
				}
			}
		}
		return !exit
	})
	return exit
}

// insideBreakable reports whether stack (rooted at a loop body) holds a
// statement that an unlabeled break would leave instead of the loop.
func insideBreakable(stack []ast.Node) bool {
	for _, n := range stack {
		switch n.(type) {
		case *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt:
			return true
		}
	}
	return false
}
