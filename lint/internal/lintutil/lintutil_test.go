package lintutil_test

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"testing"

	"github.com/govkit/govern/lint/internal/lintutil"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

const src = `package p

import (
	"log"
	stdhttp "net/http"
	"os"
	"runtime"
	"testing"
	. "time"
)

type local struct{}

func (local) Exit(int) {}

func f(t *testing.T, l local) {
	panic("x")
	os.Exit(1)
	runtime.Goexit()
	log.Fatalf("x")
	t.Fatal("x")
	l.Exit(1)
	println("x")
	_ = stdhttp.ListenAndServe(":1", nil)
	_ = NewTicker(Second)
	_ = new(stdhttp.Server)
}
`

// check type-checks src and returns its calls by callee spelling.
func check(t *testing.T) (*types.Info, map[string]*ast.CallExpr) {
	t.Helper()
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}, Selections: map[*ast.SelectorExpr]*types.Selection{}}
	conf := types.Config{Importer: importer.Default()}
	if _, err := conf.Check("p", fset, []*ast.File{file}, info); err != nil {
		t.Fatal(err)
	}
	calls := map[string]*ast.CallExpr{}
	ast.Inspect(file, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			switch fun := call.Fun.(type) {
			case *ast.Ident:
				calls[fun.Name] = call
			case *ast.SelectorExpr:
				calls[fun.X.(*ast.Ident).Name+"."+fun.Sel.Name] = call
			}
		}
		return true
	})
	return info, calls
}

func TestHelpers(t *testing.T) {
	info, calls := check(t)

	mayReturn := map[string]bool{
		"panic": false, "os.Exit": false, "runtime.Goexit": false, "log.Fatalf": false,
		"t.Fatal": false, "l.Exit": true, "println": true, "stdhttp.ListenAndServe": true,
	}
	for name, want := range mayReturn {
		if got := lintutil.MayReturn(info, calls[name]); got != want {
			t.Errorf("MayReturn(%s) = %v, want %v", name, got, want)
		}
	}

	if !lintutil.IsPackageCall(info, calls["stdhttp.ListenAndServe"], "net/http", "ListenAndServe") {
		t.Error("an aliased net/http.ListenAndServe call is not recognised")
	}
	if !lintutil.IsPackageCall(info, calls["NewTicker"], "time", "NewTicker", "NewTimer") {
		t.Error("a dot-imported time.NewTicker call is not recognised")
	}
	if lintutil.IsPackageCall(info, calls["l.Exit"], "os", "Exit") {
		t.Error("a method named Exit is mistaken for os.Exit")
	}
	if lintutil.CalleeFunc(info, calls["t.Fatal"]) != nil {
		t.Error("CalleeFunc returned a method; it is for package-level functions only")
	}
	if !lintutil.IsNamedType(info.TypeOf(calls["new"]), "net/http", "Server") {
		t.Error("IsNamedType does not see through a pointer to http.Server")
	}
}
