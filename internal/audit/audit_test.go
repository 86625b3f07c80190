package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/govkit/govern/internal/golden"
)

// fleet copies testdata/fleet into a temp module that requires govern
// through a replace to this checkout, with govern's requirements and
// go.sum, so it loads offline from the module cache.
func fleet(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "fleet")
	if err := os.CopyFS(dir, os.DirFS("testdata/fleet")); err != nil {
		t.Fatal(err)
	}
	writeModule(t, dir, "example.com/fleet", root)
	return dir
}

func writeModule(t *testing.T, dir, module, governRoot string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(governRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	governMod, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("module " + module + "\n\ngo " + governMod.Go.Version + "\n\nrequire (\n\tgithub.com/govkit/govern v0.0.0-00010101000000-000000000000\n")
	for _, r := range governMod.Require {
		b.WriteString("\t" + r.Mod.Path + " " + r.Mod.Version + "\n")
	}
	b.WriteString(")\n\nreplace github.com/govkit/govern => " + governRoot + "\n")
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(governRoot, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a module with go/packages")
	}
	dir := fleet(t)
	report, err := Run(t.Context(), Config{Dir: dir, Analyzers: DefaultAnalyzers(), Env: append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")})
	if err != nil {
		t.Fatal(err)
	}
	var table, js bytes.Buffer
	if err := WriteTable(&table, report); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, report); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/fleet.table.golden", table.Bytes())
	golden.Check(t, "testdata/fleet.json.golden", js.Bytes())
}

func TestPatternsNarrowTheAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a module with go/packages")
	}
	dir := fleet(t)
	report, err := Run(t.Context(), Config{Dir: dir, Patterns: []string{"./cmd/legacy"}, Env: append(os.Environ(), "GOWORK=off")})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Services) != 1 || report.Services[0].Package != "example.com/fleet/cmd/legacy" {
		t.Fatalf("services = %+v", report.Services)
	}
	if len(report.Services[0].Findings) != 0 {
		t.Error("no analyzers were asked for, yet findings were reported")
	}
}

func TestBrokenServiceIsReportedNotFatal(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a module with go/packages")
	}
	dir := fleet(t)
	if err := os.WriteFile(filepath.Join(dir, "cmd/legacy/broken.go"), []byte("package main\n\nfunc broken() { undefined() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	report, err := Run(t.Context(), Config{Dir: dir, Analyzers: DefaultAnalyzers(), Env: append(os.Environ(), "GOWORK=off")})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Service{}
	for _, s := range report.Services {
		byName[s.Package] = s
	}
	legacy, orders := byName["example.com/fleet/cmd/legacy"], byName["example.com/fleet/cmd/orders"]
	if len(legacy.Problems) == 0 || !strings.Contains(legacy.Problems[0], "does not build") || !strings.Contains(legacy.Problems[0], "cmd/legacy/broken.go:3:17: undefined: undefined)") {
		t.Errorf("legacy problems = %q, want a build problem naming the error first", legacy.Problems)
	}
	if !orders.AdminWired || len(orders.Policies) != 1 {
		t.Errorf("a broken neighbour must not hide the healthy service's audit: %+v", orders)
	}
}
