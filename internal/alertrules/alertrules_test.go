package alertrules_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govkit/govern/internal/alertrules"
	"github.com/govkit/govern/internal/golden"
	"github.com/govkit/govern/internal/slo"
	"github.com/govkit/govern/internal/slo/slotest"
	"github.com/govkit/govern/internal/tooltest"
)

// render generates the rule file and the PrometheusRule of slotest's
// service.
func render(t *testing.T) (rules, prometheusRule []byte) {
	t.Helper()
	plan, problems := slo.NewPlan(slotest.Service, slotest.Table(), nil)
	if slo.HasErrors(problems) {
		t.Fatalf("problems: %v", problems)
	}
	f := alertrules.Generate(plan)
	rules, err := f.YAML()
	if err != nil {
		t.Fatal(err)
	}
	prometheusRule, err = alertrules.PrometheusRule(rules, alertrules.ResourceName(plan.Service), map[string]string{"app.kubernetes.io/managed-by": "govern"})
	if err != nil {
		t.Fatal(err)
	}
	return rules, prometheusRule
}

func TestGolden(t *testing.T) {
	rules, pr := render(t)
	golden.Check(t, filepath.Join("testdata", "golden", "checkout.rules.yaml"), rules)
	golden.Check(t, filepath.Join("testdata", "golden", "checkout.prometheusrule.yaml"), pr)
}

// TestPromtool checks the generated rules with promtool and runs the unit
// tests of testdata/promtool against them: synthetic series for which the
// burn-rate, latency, breaker, idempotency-store and rate-limit alerts must
// fire at the expected evaluation times, and not before.
func TestPromtool(t *testing.T) {
	promtool := tooltest.Need(t, "promtool", "prometheus")
	rules, _ := render(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, args ...string) {
		t.Helper()
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %v: %v\n%s", args, err, out)
		}
	}
	run(t, "check", "rules", filepath.Join(dir, "rules.yaml"))
	tests, err := filepath.Glob(filepath.Join("testdata", "promtool", "*_test.yaml"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no promtool tests in testdata/promtool (%v)", err)
	}
	for _, src := range tests {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.Base(src))
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(src), func(t *testing.T) {
			t.Parallel()
			run(t, "test", "rules", dst)
		})
	}
}

// TestRulesQueryExportedMetrics checks that every metric a rule selects is
// one the runtime exports for the service's methods, or a series recorded by
// an earlier rule of the file. govern_registration_lease_lost_total is
// exported by runtime/discovery's registries (whose clients this test does
// not link): it must be named there.
func TestRulesQueryExportedMetrics(t *testing.T) {
	plan, _ := slo.NewPlan(slotest.Service, slotest.Table(), nil)
	f := alertrules.Generate(plan)
	known := slotest.ExportedMetrics(t, slotest.Table())
	known[alertrules.RegistrationLeases] = discoveryExports(t, alertrules.RegistrationLeases)
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			names := slotest.SelectedMetrics(r.Expr)
			if len(names) == 0 {
				t.Errorf("rule %s%s: %q selects no metric", r.Record, r.Alert, r.Expr)
			}
			for _, n := range names {
				if !known[n] {
					t.Errorf("rule %s%s selects %s, which neither the runtime exports nor an earlier rule records", r.Record, r.Alert, n)
				}
			}
			if r.Record != "" {
				known[r.Record] = true
			}
		}
	}
}

// discoveryExports reports whether a non-test Go file of runtime/discovery
// declares the metric name.
func discoveryExports(t *testing.T, name string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir("../../runtime/discovery", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		data, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(data), `"`+name+`"`) {
			found = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestFleetRulesPassPromtool generates the rules of 127 services x 10
// methods and checks them all with one promtool run.
func TestFleetRulesPassPromtool(t *testing.T) {
	promtool := tooltest.Need(t, "promtool", "prometheus")
	dir := t.TempDir()
	var files []string
	for svc, table := range slotest.Fleet(127, 10) {
		plan, problems := slo.NewPlan(svc, table, nil)
		if slo.HasErrors(problems) {
			t.Fatal(problems)
		}
		rules, err := alertrules.Generate(plan).YAML()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, svc+".rules.yaml")
		if err := os.WriteFile(path, rules, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	if msg, err := exec.Command(promtool, append([]string{"check", "rules"}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, msg)
	}
}
