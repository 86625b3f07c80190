package defaultservemux

import (
	"go/ast"
	"go/token"
	"go/types"
	"strconv"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"

	"github.com/govkit/govern/lint/internal/lintutil"
)

// Analyzer reports registrations on, and serving of, http.DefaultServeMux.
var Analyzer = &analysis.Analyzer{
	Name:     "defaultservemux",
	Doc:      "report use of http.DefaultServeMux: registrations, nil handlers, references and init-registering imports",
	URL:      "https://pkg.go.dev/github.com/govkit/govern/lint/defaultservemux",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      run,
}

const (
	httpPath = "net/http"
	fix      = "use an explicit *http.ServeMux: mux := http.NewServeMux()"
)

// nilHandlerArg maps the package-level serving functions that fall back
// to DefaultServeMux on a nil handler to the index of that argument.
var nilHandlerArg = map[string]map[string]int{
	httpPath:            {"ListenAndServe": 1, "ListenAndServeTLS": 3, "Serve": 1, "ServeTLS": 1},
	"net/http/fcgi":     {"Serve": 1},
	"net/http/cgi":      {"Serve": 0},
	"net/http/httptest": {"NewServer": 0, "NewTLSServer": 0, "NewUnstartedServer": 0},
}

// registeringImports lists packages whose init registers handlers on
// DefaultServeMux, with the routes they add and how to mount them
// explicitly instead.
var registeringImports = map[string]struct{ routes, mount string }{
	"net/http/pprof": {
		routes: "/debug/pprof/ (index, cmdline, profile, symbol, trace)",
		mount:  `mux.HandleFunc("/debug/pprof/", pprof.Index) and likewise pprof.Cmdline, pprof.Profile, pprof.Symbol, pprof.Trace`,
	},
	"expvar": {
		routes: "/debug/vars",
		mount:  `mux.Handle("/debug/vars", expvar.Handler())`,
	},
	"golang.org/x/net/trace": {
		routes: "/debug/requests and /debug/events",
		mount:  `mux.HandleFunc("/debug/requests", trace.Traces) and mux.HandleFunc("/debug/events", trace.Events)`,
	},
}

func run(pass *analysis.Pass) (any, error) {
	if !importsAny(pass.Pkg) {
		return nil, nil
	}
	insp := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	nodeTypes := []ast.Node{
		(*ast.ImportSpec)(nil),
		(*ast.Ident)(nil),
		(*ast.CallExpr)(nil),
		(*ast.CompositeLit)(nil),
		(*ast.AssignStmt)(nil),
	}
	insp.WithStack(nodeTypes, func(n ast.Node, push bool, stack []ast.Node) bool {
		if !push {
			return true
		}
		switch n := n.(type) {
		case *ast.ImportSpec:
			checkImport(pass, n)
		case *ast.Ident:
			checkIdent(pass, n)
		case *ast.CallExpr:
			checkServeCall(pass, n)
		case *ast.CompositeLit:
			checkServerLiteral(pass, n, stack)
		case *ast.AssignStmt:
			checkHandlerAssign(pass, n)
		}
		return true
	})
	return nil, nil
}

// importsAny is the fast path: a package that imports none of the
// packages involved cannot trigger any check.
func importsAny(pkg *types.Package) bool {
	for _, imp := range pkg.Imports() {
		switch imp.Path() {
		case httpPath, "net/http/fcgi", "net/http/cgi", "net/http/httptest":
			return true
		}
		if _, ok := registeringImports[imp.Path()]; ok {
			return true
		}
	}
	return false
}

// checkImport reports blank imports of packages that register on
// DefaultServeMux in init. A named import is used for its API (for
// example pprof.Index mounted on an explicit mux) and is not reported:
// its registration on DefaultServeMux is harmless as long as nothing
// serves DefaultServeMux, which the other checks enforce.
func checkImport(pass *analysis.Pass, spec *ast.ImportSpec) {
	if spec.Name == nil || spec.Name.Name != "_" {
		return
	}
	path, err := strconv.Unquote(spec.Path.Value)
	if err != nil {
		return
	}
	reg, ok := registeringImports[path]
	if !ok {
		return
	}
	pass.ReportRangef(spec, "import of %s registers %s on http.DefaultServeMux in its init; %s and mount them on it instead: %s",
		path, reg.routes, fix, reg.mount)
}

func checkIdent(pass *analysis.Pass, id *ast.Ident) {
	obj := pass.TypesInfo.Uses[id]
	switch {
	case lintutil.IsPackageObject(obj, httpPath, "DefaultServeMux"):
		if _, isVar := obj.(*types.Var); isVar {
			pass.ReportRangef(id, "reference to http.DefaultServeMux, which any package in the binary can register routes on; %s", fix)
		}
	case lintutil.IsPackageObject(obj, httpPath, "Handle", "HandleFunc"):
		if _, isFunc := obj.(*types.Func); isFunc {
			pass.ReportRangef(id, "http.%s registers on http.DefaultServeMux; %s; mux.%s(pattern, handler)", obj.Name(), fix, obj.Name())
		}
	}
}

func checkServeCall(pass *analysis.Pass, call *ast.CallExpr) {
	fn := lintutil.CalleeFunc(pass.TypesInfo, call)
	if fn == nil || fn.Pkg() == nil {
		return
	}
	idx, ok := nilHandlerArg[fn.Pkg().Path()][fn.Name()]
	if !ok || idx >= len(call.Args) || !isNil(pass.TypesInfo, call.Args[idx]) {
		return
	}
	pass.ReportRangef(call.Args[idx], "%s.%s with a nil handler serves http.DefaultServeMux; %s and pass mux as the handler",
		fn.Pkg().Name(), fn.Name(), fix)
}

// checkServerLiteral reports http.Server{...} literals whose Handler is
// missing or nil, unless the enclosing function assigns a non-nil
// Handler to the variable the literal is stored in.
func checkServerLiteral(pass *analysis.Pass, lit *ast.CompositeLit, stack []ast.Node) {
	tv, ok := pass.TypesInfo.Types[lit]
	if !ok || !lintutil.IsNamedType(tv.Type, httpPath, "Server") {
		return
	}
	handler, keyed := serverHandler(lit)
	if handler != nil {
		if isNil(pass.TypesInfo, handler) {
			pass.ReportRangef(handler, "http.Server with Handler: nil serves http.DefaultServeMux; %s and set Handler: mux", fix)
		}
		return
	}
	if !keyed && len(lit.Elts) > 0 {
		return // positional literal with fewer fields: does not compile without Handler
	}
	if v := assignedVar(pass.TypesInfo, lit, stack); v != nil && handlerSetLater(pass.TypesInfo, v, stack) {
		return
	}
	pass.ReportRangef(lit, "http.Server without a Handler serves http.DefaultServeMux; %s and set Handler: mux", fix)
}

// serverHandler returns the Handler element of a Server literal, and
// whether the literal is keyed.
func serverHandler(lit *ast.CompositeLit) (handler ast.Expr, keyed bool) {
	for i, elt := range lit.Elts {
		kv, ok := elt.(*ast.KeyValueExpr)
		if !ok {
			if i == 1 { // positional: Addr, Handler, ...
				return elt, false
			}
			continue
		}
		keyed = true
		if key, ok := kv.Key.(*ast.Ident); ok && key.Name == "Handler" {
			return kv.Value, true
		}
	}
	return nil, keyed || len(lit.Elts) == 0
}

// assignedVar returns the local variable a Server literal (or its
// address) is assigned to by := , = or var, or nil.
func assignedVar(info *types.Info, lit *ast.CompositeLit, stack []ast.Node) *types.Var {
	var expr ast.Node = lit
	i := len(stack) - 2
	if i >= 0 {
		if u, ok := stack[i].(*ast.UnaryExpr); ok && u.Op == token.AND {
			expr = u
			i--
		}
	}
	if i < 0 {
		return nil
	}
	var id *ast.Ident
	switch parent := stack[i].(type) {
	case *ast.AssignStmt:
		for j, rhs := range parent.Rhs {
			if rhs == expr && j < len(parent.Lhs) && len(parent.Lhs) == len(parent.Rhs) {
				id, _ = parent.Lhs[j].(*ast.Ident)
			}
		}
	case *ast.ValueSpec:
		for j, val := range parent.Values {
			if val == expr && j < len(parent.Names) {
				id = parent.Names[j]
			}
		}
	}
	if id == nil {
		return nil
	}
	if v, ok := info.Defs[id].(*types.Var); ok {
		return v
	}
	v, _ := info.Uses[id].(*types.Var)
	return v
}

// handlerSetLater reports whether the innermost function enclosing the
// literal assigns a non-nil value to v.Handler.
func handlerSetLater(info *types.Info, v *types.Var, stack []ast.Node) bool {
	var body *ast.BlockStmt
	for i := len(stack) - 1; i >= 0 && body == nil; i-- {
		switch fn := stack[i].(type) {
		case *ast.FuncDecl:
			body = fn.Body
		case *ast.FuncLit:
			body = fn.Body
		}
	}
	if body == nil {
		return false
	}
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		assign, ok := n.(*ast.AssignStmt)
		if !ok || found {
			return !found
		}
		for j, lhs := range assign.Lhs {
			sel, ok := lhs.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Handler" || len(assign.Lhs) != len(assign.Rhs) {
				continue
			}
			if x, ok := ast.Unparen(sel.X).(*ast.Ident); ok && info.Uses[x] == v && !isNil(info, assign.Rhs[j]) {
				found = true
			}
		}
		return !found
	})
	return found
}

// checkHandlerAssign reports srv.Handler = nil on an http.Server.
func checkHandlerAssign(pass *analysis.Pass, assign *ast.AssignStmt) {
	if len(assign.Lhs) != len(assign.Rhs) {
		return
	}
	for i, lhs := range assign.Lhs {
		sel, ok := lhs.(*ast.SelectorExpr)
		if !ok || !isServerHandlerField(pass.TypesInfo, sel) || !isNil(pass.TypesInfo, assign.Rhs[i]) {
			continue
		}
		pass.ReportRangef(assign.Rhs[i], "setting http.Server.Handler to nil serves http.DefaultServeMux; %s and set Handler = mux", fix)
	}
}

func isServerHandlerField(info *types.Info, sel *ast.SelectorExpr) bool {
	selection, ok := info.Selections[sel]
	if !ok || selection.Kind() != types.FieldVal {
		return false
	}
	field, ok := selection.Obj().(*types.Var)
	if !ok || field.Name() != "Handler" || field.Pkg() == nil || field.Pkg().Path() != httpPath {
		return false
	}
	// The field must belong to http.Server itself (possibly embedded).
	server := field.Pkg().Scope().Lookup("Server")
	if server == nil {
		return false
	}
	st, ok := server.Type().Underlying().(*types.Struct)
	if !ok {
		return false
	}
	for f := range st.Fields() {
		if f == field {
			return true
		}
	}
	return false
}

func isNil(info *types.Info, expr ast.Expr) bool {
	tv, ok := info.Types[expr]
	return ok && tv.IsNil()
}
