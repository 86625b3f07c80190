package lint_test

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/analysis/passes/appends"
	"golang.org/x/tools/go/analysis/passes/asmdecl"
	"golang.org/x/tools/go/analysis/passes/assign"
	"golang.org/x/tools/go/analysis/passes/atomic"
	"golang.org/x/tools/go/analysis/passes/bools"
	"golang.org/x/tools/go/analysis/passes/buildtag"
	"golang.org/x/tools/go/analysis/passes/cgocall"
	"golang.org/x/tools/go/analysis/passes/composite"
	"golang.org/x/tools/go/analysis/passes/copylock"
	"golang.org/x/tools/go/analysis/passes/defers"
	"golang.org/x/tools/go/analysis/passes/directive"
	"golang.org/x/tools/go/analysis/passes/errorsas"
	"golang.org/x/tools/go/analysis/passes/framepointer"
	"golang.org/x/tools/go/analysis/passes/hostport"
	"golang.org/x/tools/go/analysis/passes/httpresponse"
	"golang.org/x/tools/go/analysis/passes/ifaceassert"
	"golang.org/x/tools/go/analysis/passes/loopclosure"
	"golang.org/x/tools/go/analysis/passes/lostcancel"
	"golang.org/x/tools/go/analysis/passes/nilfunc"
	"golang.org/x/tools/go/analysis/passes/printf"
	"golang.org/x/tools/go/analysis/passes/shift"
	"golang.org/x/tools/go/analysis/passes/sigchanyzer"
	"golang.org/x/tools/go/analysis/passes/slog"
	"golang.org/x/tools/go/analysis/passes/stdmethods"
	"golang.org/x/tools/go/analysis/passes/stdversion"
	"golang.org/x/tools/go/analysis/passes/stringintconv"
	"golang.org/x/tools/go/analysis/passes/structtag"
	"golang.org/x/tools/go/analysis/passes/testinggoroutine"
	"golang.org/x/tools/go/analysis/passes/tests"
	"golang.org/x/tools/go/analysis/passes/timeformat"
	"golang.org/x/tools/go/analysis/passes/unmarshal"
	"golang.org/x/tools/go/analysis/passes/unreachable"
	"golang.org/x/tools/go/analysis/passes/unsafeptr"
	"golang.org/x/tools/go/analysis/passes/unusedresult"
	"golang.org/x/tools/go/analysis/passes/waitgroup"
	"golang.org/x/tools/go/packages"

	"github.com/govkit/govern/lint"
)

// vetAnalyzers is the analyzer set of cmd/vet in Go 1.26 (cmd/vet/main.go).
var vetAnalyzers = []*analysis.Analyzer{
	appends.Analyzer, asmdecl.Analyzer, assign.Analyzer, atomic.Analyzer,
	bools.Analyzer, buildtag.Analyzer, cgocall.Analyzer, composite.Analyzer,
	copylock.Analyzer, defers.Analyzer, directive.Analyzer, errorsas.Analyzer,
	framepointer.Analyzer, hostport.Analyzer, httpresponse.Analyzer,
	ifaceassert.Analyzer, loopclosure.Analyzer, lostcancel.Analyzer,
	nilfunc.Analyzer, printf.Analyzer, shift.Analyzer, sigchanyzer.Analyzer,
	slog.Analyzer, stdmethods.Analyzer, stdversion.Analyzer,
	stringintconv.Analyzer, structtag.Analyzer, testinggoroutine.Analyzer,
	tests.Analyzer, timeformat.Analyzer, unmarshal.Analyzer,
	unreachable.Analyzer, unsafeptr.Analyzer, unusedresult.Analyzer,
	waitgroup.Analyzer,
}

// BenchmarkAnalyzers runs govern's analyzers and go vet's default set over
// the same packages, loaded once (GOVERN_LINT_BENCH_PKGS, comma-separated
// patterns, default net/http and net/http/httputil with their tests), so
// that the cost of analysis alone can be compared:
//
//	go test ./lint -run '^$' -bench Analyzers -benchtime 5x
//
// lint/bench/compare.sh measures the whole tools, loading included, on a
// real module.
func BenchmarkAnalyzers(b *testing.B) {
	patterns := []string{"net/http", "net/http/httputil"}
	if env := os.Getenv("GOVERN_LINT_BENCH_PKGS"); env != "" {
		patterns = strings.Split(env, ",")
	}
	// vet's analyzers use facts, which need every dependency's syntax.
	cfg := &packages.Config{Mode: packages.LoadAllSyntax | packages.NeedModule, Tests: true}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		b.Fatalf("load %v: %v", patterns, err)
	}
	if packages.PrintErrors(pkgs) > 0 {
		b.Fatalf("load %v: packages have errors", patterns)
	}
	for _, set := range []struct {
		name      string
		analyzers []*analysis.Analyzer
	}{
		{"govern-lint", lint.Analyzers()},
		{"go-vet-default", vetAnalyzers},
	} {
		b.Run(set.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := checker.Analyze(set.analyzers, pkgs, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
