// Package lintutil holds the small type-based helpers that govern's
// analyzers share: recognising package-level functions and variables by
// import path (so aliases, dot imports and look-alike packages named
// "http" or "time" are handled by the type checker, never by spelling),
// and the set of calls that never return, used to build control-flow
// graphs without the fact-exporting ctrlflow pass. Avoiding facts keeps
// the standalone checker on export data instead of type-checking every
// dependency from source.
package lintutil

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/types/typeutil"
)

// IsPackageObject reports whether obj is the package-level object
// pkgPath.name (a function or variable, not a method or field).
func IsPackageObject(obj types.Object, pkgPath string, names ...string) bool {
	if obj == nil || obj.Pkg() == nil || obj.Pkg().Path() != pkgPath {
		return false
	}
	if obj.Parent() != obj.Pkg().Scope() {
		return false
	}
	for _, name := range names {
		if obj.Name() == name {
			return true
		}
	}
	return false
}

// CalleeFunc returns the statically known package-level function called
// by call, or nil for method calls, function values and conversions.
func CalleeFunc(info *types.Info, call *ast.CallExpr) *types.Func {
	fn, ok := typeutil.Callee(info, call).(*types.Func)
	if !ok {
		return nil
	}
	if sig, ok := fn.Type().(*types.Signature); !ok || sig.Recv() != nil {
		return nil
	}
	return fn
}

// IsPackageCall reports whether call calls the package-level function
// pkgPath.name for one of names.
func IsPackageCall(info *types.Info, call *ast.CallExpr, pkgPath string, names ...string) bool {
	fn := CalleeFunc(info, call)
	return fn != nil && IsPackageObject(fn, pkgPath, names...)
}

// IsNamedType reports whether t, or the type t points to, is the named
// type pkgPath.name.
func IsNamedType(t types.Type, pkgPath, name string) bool {
	if ptr, ok := types.Unalias(t).(*types.Pointer); ok {
		t = ptr.Elem()
	}
	named, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	obj := named.Obj()
	return obj.Pkg() != nil && obj.Pkg().Path() == pkgPath && obj.Name() == name
}

// MayReturn reports whether call may return normally. It knows the
// standard library's terminating calls (panic, os.Exit, runtime.Goexit,
// log.Fatal*, log.Panic*) and the testing.TB methods that stop the test
// goroutine; every other call is assumed to return.
func MayReturn(info *types.Info, call *ast.CallExpr) bool {
	switch fn := typeutil.Callee(info, call).(type) {
	case *types.Builtin:
		return fn.Name() != "panic"
	case *types.Func:
		if fn.Pkg() == nil {
			return true
		}
		switch fn.Pkg().Path() {
		case "os":
			return fn.Name() != "Exit"
		case "runtime":
			return fn.Name() != "Goexit"
		case "log":
			switch fn.Name() {
			case "Fatal", "Fatalf", "Fatalln", "Panic", "Panicf", "Panicln":
				return false
			}
		case "testing":
			switch fn.Name() {
			case "FailNow", "Fatal", "Fatalf", "SkipNow", "Skip", "Skipf":
				return false
			}
		}
	}
	return true
}
