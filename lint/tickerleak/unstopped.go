package tickerleak

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/cfg"

	"github.com/govkit/govern/lint/internal/lintutil"
)

// candidate is a local *time.Ticker or *time.Timer variable to follow
// through the control-flow graph.
type candidate struct {
	v     *types.Var
	kind  string   // "ticker" or "timer"
	ctor  string   // "NewTicker" or "NewTimer"
	def   ast.Node // the AssignStmt or ValueSpec (a CFG node)
	stmt  ast.Stmt // the statement to report and to insert the fix after
	list  bool     // stmt sits directly in a statement list
	loops bool     // stmt is inside a loop of its function
	// defIdent is the identifier the definition assigns; it is not a use.
	defIdent *ast.Ident
}

// checkUnstopped is the unstopped rule for one function: a ticker or timer
// kept in a local variable that does not escape must be stopped on every
// path to a return, and one that is discarded is reported outright; both
// only where unreferenced tickers leak (leakRule).
func (c *checker) checkUnstopped(file *ast.File, fn ast.Node, ftype *ast.FuncType, body *ast.BlockStmt) {
	leaks, why := c.leakRule().leaks(c.pass, file)
	if !leaks {
		return // Go 1.23+: an unreferenced ticker or timer is collected unstopped
	}
	info := c.pass.TypesInfo
	funcScope := info.Scopes[ftype]
	if funcScope == nil {
		return
	}
	var sigType types.Type
	switch fn := fn.(type) {
	case *ast.FuncDecl:
		if obj := info.Defs[fn.Name]; obj != nil {
			sigType = obj.Type()
		}
	case *ast.FuncLit:
		sigType = info.TypeOf(fn)
	}
	sig, ok := sigType.(*types.Signature)
	if !ok {
		return
	}
	results := sig.Results()

	var cands []candidate
	ast.PreorderStack(body, nil, func(n ast.Node, stack []ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false // analysed on its own
		}
		call, ok := n.(*ast.CallExpr)
		if !ok || len(stack) == 0 {
			return true
		}
		ctor, kind := constructor(info, call)
		if ctor == "" {
			return true
		}
		switch parent := stack[len(stack)-1].(type) {
		case *ast.ExprStmt:
			c.pass.ReportRangef(call, "the %s returned by time.%s is discarded and can never be stopped (%s: unreferenced %ss are never collected); keep it and stop it: t := time.%s(d); defer t.Stop()", kind, ctor, why, kind, ctor)
		case *ast.SelectorExpr:
			if kind == "ticker" && parent.Sel.Name == "C" {
				c.pass.ReportRangef(call, "time.%s(d).C drops the ticker, which can never be stopped (%s: unreferenced tickers are never collected); keep it and stop it: t := time.%s(d); defer t.Stop()", ctor, why, ctor)
			}
		case *ast.AssignStmt:
			if len(parent.Lhs) != len(parent.Rhs) {
				return true
			}
			for i, rhs := range parent.Rhs {
				if rhs != call {
					continue
				}
				id, ok := parent.Lhs[i].(*ast.Ident)
				if !ok {
					return true // stored in a field, map or slice: escapes
				}
				if id.Name == "_" {
					c.pass.ReportRangef(call, "the %s returned by time.%s is discarded and can never be stopped (%s: unreferenced %ss are never collected); keep it and stop it: t := time.%s(d); defer t.Stop()", kind, ctor, why, kind, ctor)
					return true
				}
				if v := localVar(info, id, funcScope, results); v != nil {
					cands = append(cands, candidate{v: v, kind: kind, ctor: ctor, def: parent, stmt: parent,
						list: inStmtList(stack[len(stack)-2], parent), loops: inLoop(stack), defIdent: id})
				}
			}
		case *ast.ValueSpec:
			for i, val := range parent.Values {
				if val != call || i >= len(parent.Names) {
					continue
				}
				id := parent.Names[i]
				if id.Name == "_" {
					c.pass.ReportRangef(call, "the %s returned by time.%s is discarded and can never be stopped (%s: unreferenced %ss are never collected); keep it and stop it: t := time.%s(d); defer t.Stop()", kind, ctor, why, kind, ctor)
					continue
				}
				if v := localVar(info, id, funcScope, results); v != nil && len(stack) >= 4 {
					decl, _ := stack[len(stack)-3].(*ast.DeclStmt)
					if decl == nil {
						continue
					}
					cands = append(cands, candidate{v: v, kind: kind, ctor: ctor, def: parent, stmt: decl,
						list: inStmtList(stack[len(stack)-4], decl), loops: inLoop(stack), defIdent: id})
				}
			}
		}
		return true
	})
	if len(cands) == 0 {
		return
	}
	g := c.cfgOf(body)
	comms := selectComms(body)
	for _, cand := range cands {
		if c.escapes(body, cand) {
			continue
		}
		ret := c.unstoppedPath(g, cand, comms)
		if ret == nil {
			continue
		}
		c.reportUnstopped(cand, ret, body, why)
	}
}

// constructor recognises time.NewTicker and time.NewTimer calls.
func constructor(info *types.Info, call *ast.CallExpr) (ctor, kind string) {
	fn := lintutil.CalleeFunc(info, call)
	if fn == nil || !lintutil.IsPackageObject(fn, timePath, "NewTicker", "NewTimer") {
		return "", ""
	}
	if fn.Name() == "NewTicker" {
		return "NewTicker", "ticker"
	}
	return "NewTimer", "timer"
}

// localVar returns the variable id defines or assigns when it belongs to
// the function (not an outer scope, not a named result).
func localVar(info *types.Info, id *ast.Ident, funcScope *types.Scope, results *types.Tuple) *types.Var {
	v, ok := info.Defs[id].(*types.Var)
	if !ok {
		v, ok = info.Uses[id].(*types.Var)
		if !ok || !funcScope.Contains(v.Pos()) {
			return nil
		}
	}
	if results != nil {
		for r := range results.Variables() {
			if r == v {
				return nil
			}
		}
	}
	return v
}

func inStmtList(parent ast.Node, stmt ast.Stmt) bool {
	switch parent.(type) {
	case *ast.BlockStmt, *ast.CaseClause, *ast.CommClause:
		return true
	}
	return false
}

// inLoop reports whether the innermost function on stack has a loop
// around the current node: a defer there would run once per function,
// not once per iteration.
func inLoop(stack []ast.Node) bool {
	for i := len(stack) - 1; i >= 0; i-- {
		switch stack[i].(type) {
		case *ast.ForStmt, *ast.RangeStmt:
			return true
		case *ast.FuncLit, *ast.FuncDecl:
			return false
		}
	}
	return false
}

// escapes reports whether the candidate leaves the control of its
// function: any use other than t.Stop(), t.Reset(...) and t.C, any use
// inside a function literal, or a second assignment.
func (c *checker) escapes(body *ast.BlockStmt, cand candidate) bool {
	info := c.pass.TypesInfo
	escaped := false
	ast.PreorderStack(body, nil, func(n ast.Node, stack []ast.Node) bool {
		if escaped {
			return false
		}
		id, ok := n.(*ast.Ident)
		if !ok || id == cand.defIdent || info.Uses[id] != cand.v {
			return true
		}
		for _, s := range stack {
			if _, ok := s.(*ast.FuncLit); ok {
				escaped = true // captured: whoever runs the closure may stop it
				return false
			}
		}
		parent := stack[len(stack)-1]
		if cmp, ok := parent.(*ast.BinaryExpr); ok && (cmp.Op == token.EQL || cmp.Op == token.NEQ) {
			return false // t != nil does not let it go
		}
		sel, ok := parent.(*ast.SelectorExpr)
		if !ok || sel.X != id {
			escaped = true // returned, passed, stored, aliased or reassigned
			return false
		}
		switch sel.Sel.Name {
		case "C":
		case "Stop", "Reset":
			if call, ok := stack[len(stack)-2].(*ast.CallExpr); !ok || call.Fun != sel {
				escaped = true // method value handed elsewhere
			}
		default:
			escaped = true
		}
		return false
	})
	return escaped
}

// stops reports whether node stops the candidate: a call of v.Stop(), or
// for a timer a receive from v.C (a fired timer is released).
func (c *checker) stops(node ast.Node, cand candidate, comms map[ast.Node]bool) bool {
	if comms[node] {
		// The CFG evaluates every select case's communication before the
		// select branches; a receive there happens only on its own case's
		// path, which blockStops credits through the case body block.
		return false
	}
	info := c.pass.TypesInfo
	isV := func(e ast.Expr) bool {
		id, ok := ast.Unparen(e).(*ast.Ident)
		return ok && info.Uses[id] == cand.v
	}
	found := false
	ast.Inspect(node, func(n ast.Node) bool {
		if found {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.CallExpr:
			if sel, ok := ast.Unparen(n.Fun).(*ast.SelectorExpr); ok && sel.Sel.Name == "Stop" && isV(sel.X) {
				found = true
			}
		case *ast.UnaryExpr:
			if cand.kind == "timer" && n.Op == token.ARROW {
				if sel, ok := ast.Unparen(n.X).(*ast.SelectorExpr); ok && sel.Sel.Name == "C" && isV(sel.X) {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

// selectComms returns the communication statements of the select cases
// in body.
func selectComms(body *ast.BlockStmt) map[ast.Node]bool {
	comms := make(map[ast.Node]bool)
	ast.Inspect(body, func(n ast.Node) bool {
		if clause, ok := n.(*ast.CommClause); ok && clause.Comm != nil {
			comms[clause.Comm] = true
		}
		return true
	})
	return comms
}

// unstoppedPath finds a path in g from the candidate's definition to a
// return that never stops it, and returns that return statement (which
// may be synthetic, at the closing brace).
func (c *checker) unstoppedPath(g *cfg.CFG, cand candidate, comms map[ast.Node]bool) *ast.ReturnStmt {
	var defBlock *cfg.Block
	var rest []ast.Node
	for _, b := range g.Blocks {
		for i, n := range b.Nodes {
			if n == cand.def {
				defBlock, rest = b, b.Nodes[i+1:]
				break
			}
		}
		if defBlock != nil {
			break
		}
	}
	if defBlock == nil || !defBlock.Live {
		return nil
	}
	for _, n := range rest {
		if c.stops(n, cand, comms) {
			return nil
		}
	}
	if ret := defBlock.Return(); ret != nil {
		return ret
	}
	memo := make(map[*cfg.Block]bool)
	blockStops := func(b *cfg.Block) bool {
		res, ok := memo[b]
		if !ok {
			if clause, isCase := b.Stmt.(*ast.CommClause); isCase && b.Kind == cfg.KindSelectCaseBody && clause.Comm != nil {
				res = c.stops(clause.Comm, cand, nil)
			}
			for _, n := range b.Nodes {
				if res {
					break
				}
				if c.stops(n, cand, comms) {
					res = true
					break
				}
			}
			memo[b] = res
		}
		return res
	}
	seen := make(map[*cfg.Block]bool)
	var search func(blocks []*cfg.Block) *ast.ReturnStmt
	search = func(blocks []*cfg.Block) *ast.ReturnStmt {
		for _, b := range blocks {
			if seen[b] {
				continue
			}
			seen[b] = true
			if blockStops(b) {
				continue
			}
			if ret := b.Return(); ret != nil {
				return ret
			}
			if ret := search(c.succs(b)); ret != nil {
				return ret
			}
		}
		return nil
	}
	return search(c.succs(defBlock))
}

func (c *checker) reportUnstopped(cand candidate, ret *ast.ReturnStmt, body *ast.BlockStmt, why string) {
	name := cand.v.Name()
	line := c.pass.Fset.Position(ret.Pos()).Line
	where := fmt.Sprintf("the return on line %d", line)
	if ret.Return == body.Rbrace { // the CFG's implicit return at the closing brace
		where = fmt.Sprintf("the end of the function (line %d)", line)
	}
	diag := analysis.Diagnostic{
		Pos: cand.stmt.Pos(),
		End: cand.stmt.End(),
		Message: fmt.Sprintf("%s from time.%s is not stopped on every path: %s is reached without %s.Stop() (%s: unreferenced %ss are never collected); add defer %s.Stop()",
			name, cand.ctor, where, name, why, cand.kind, name),
	}
	if edit, ok := c.deferStopEdit(cand); ok {
		diag.SuggestedFixes = []analysis.SuggestedFix{{
			Message:   fmt.Sprintf("Add defer %s.Stop()", name),
			TextEdits: []analysis.TextEdit{edit},
		}}
	}
	c.pass.Report(diag)
}

// deferStopEdit builds the "defer t.Stop()" insertion after the defining
// statement, when that is unambiguous: a statement list, outside loops.
func (c *checker) deferStopEdit(cand candidate) (analysis.TextEdit, bool) {
	if !cand.list || cand.loops {
		return analysis.TextEdit{}, false
	}
	tf := c.pass.Fset.File(cand.stmt.Pos())
	if tf == nil {
		return analysis.TextEdit{}, false
	}
	src, err := c.pass.ReadFile(tf.Name())
	if err != nil {
		return analysis.TextEdit{}, false
	}
	start := tf.Offset(tf.LineStart(tf.Line(cand.stmt.Pos())))
	indentEnd := start
	for indentEnd < len(src) && (src[indentEnd] == '\t' || src[indentEnd] == ' ') {
		indentEnd++
	}
	indent := string(bytes.Clone(src[start:indentEnd]))
	// Insert at the end of the statement's last line, so that a trailing
	// comment stays on the line it describes.
	at := cand.stmt.End()
	if endLine := tf.Line(at); endLine < tf.LineCount() {
		at = tf.LineStart(endLine+1) - 1
	}
	return analysis.TextEdit{
		Pos:     at,
		End:     at,
		NewText: []byte("\n" + indent + "defer " + cand.v.Name() + ".Stop()"),
	}, true
}
