package tickerleak

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/cfg"

	"github.com/govkit/govern/lint/internal/lintutil"
)

func (c *checker) cfgOf(body *ast.BlockStmt) *cfg.CFG {
	g, ok := c.cfgs[body]
	if !ok {
		g = cfg.New(body, func(call *ast.CallExpr) bool { return lintutil.MayReturn(c.pass.TypesInfo, call) })
		c.cfgs[body] = g
	}
	return g
}

// succs returns the successors of b that control can really reach: the
// CFG lets every range loop end, but a range over a ticker channel never
// does, because tickers never close their channel.
func (c *checker) succs(b *cfg.Block) []*cfg.Block {
	if b.Kind == cfg.KindRangeLoop && len(b.Succs) == 2 {
		if rng, ok := b.Stmt.(*ast.RangeStmt); ok && c.tickerChan(rng.X) != "" {
			return b.Succs[:1]
		}
	}
	return b.Succs
}

// neverReturns reports whether no return of body is reachable, taking
// endless ranges over ticker channels into account.
func (c *checker) neverReturns(body *ast.BlockStmt) bool {
	g := c.cfgOf(body)
	if g.NoReturn() {
		return true
	}
	seen := make(map[*cfg.Block]bool)
	queue := []*cfg.Block{g.Blocks[0]}
	for len(queue) > 0 {
		b := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if seen[b] {
			continue
		}
		seen[b] = true
		if b.Return() != nil {
			return false
		}
		for _, n := range b.Nodes {
			if _, isDefer := n.(*ast.DeferStmt); isDefer {
				return false // a deferred recover may return
			}
		}
		queue = append(queue, c.succs(b)...)
	}
	return true
}

// tickerChan reports whether e is the channel of a ticker or timer:
// t.C, time.Tick(d), or a local variable assigned one of them.
func (c *checker) tickerChan(e ast.Expr) string {
	info := c.pass.TypesInfo
	switch e := ast.Unparen(e).(type) {
	case *ast.SelectorExpr:
		if e.Sel.Name != "C" {
			return ""
		}
		sel, ok := info.Selections[e]
		if !ok || sel.Kind() != types.FieldVal {
			return ""
		}
		switch {
		case lintutil.IsNamedType(sel.Recv(), timePath, "Ticker"):
			return "ticker"
		case lintutil.IsNamedType(sel.Recv(), timePath, "Timer"):
			return "timer"
		}
	case *ast.CallExpr:
		if lintutil.IsPackageCall(info, e, timePath, "Tick") {
			return "ticker"
		}
	case *ast.Ident:
		if v, ok := info.Uses[e].(*types.Var); ok {
			return c.chanVars()[v]
		}
	}
	return ""
}

// chanVars lazily indexes the variables assigned a ticker channel.
func (c *checker) chanVars() map[*types.Var]string {
	if c.tickChanVars != nil {
		return c.tickChanVars
	}
	c.tickChanVars = make(map[*types.Var]string)
	info := c.pass.TypesInfo
	record := func(id *ast.Ident, val ast.Expr) {
		if _, isIdent := ast.Unparen(val).(*ast.Ident); isIdent {
			return // no chains: one level is enough and avoids cycles
		}
		kind := c.tickerChan(val)
		if kind == "" {
			return
		}
		if v, ok := info.ObjectOf(id).(*types.Var); ok {
			c.tickChanVars[v] = kind
		}
	}
	for _, file := range c.pass.Files {
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				if len(n.Lhs) == len(n.Rhs) {
					for i, lhs := range n.Lhs {
						if id, ok := lhs.(*ast.Ident); ok {
							record(id, n.Rhs[i])
						}
					}
				}
			case *ast.ValueSpec:
				for i, val := range n.Values {
					if i < len(n.Names) {
						record(n.Names[i], val)
					}
				}
			}
			return true
		})
	}
	return c.tickChanVars
}
