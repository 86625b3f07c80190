//go:build unix

package scaffold

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govkit/govern/internal/tooltest"
)

// startPATH is PATH as the test binary started with it.
var startPATH = os.Getenv("PATH")

// checkOperatorArtefacts checks what `govscaffold generate` emitted for
// operators (docs/operators.md): the Prometheus rules pass
// `promtool check rules`, the scrape configuration with the fleet's
// metric_relabel_configs passes `promtool check config`, and the Grafana
// dashboard and PrometheusRule are there.
func checkOperatorArtefacts(t *testing.T, dir string, generated []string) {
	t.Helper()
	// The end-to-end test narrows PATH to the go toolchain (no protoc);
	// promtool is looked up on the PATH the test binary started with.
	narrowed := os.Getenv("PATH")
	os.Setenv("PATH", startPATH)
	promtool := tooltest.Need(t, "promtool", "prometheus")
	os.Setenv("PATH", narrowed)
	want := map[string]string{
		".rules.yaml":          "rules",
		".scrape.yaml":         "config",
		".prometheusrule.yaml": "",
		".dashboard.json":      "",
	}
	found := map[string]bool{}
	for _, g := range generated {
		for suffix, check := range want {
			if !strings.HasSuffix(g, suffix) {
				continue
			}
			found[suffix] = true
			if check == "" {
				continue
			}
			if out, err := exec.Command(promtool, "check", check, filepath.Join(dir, g)).CombinedOutput(); err != nil {
				t.Errorf("promtool check %s %s: %v\n%s", check, g, err, out)
			}
		}
	}
	for suffix := range want {
		if !found[suffix] {
			t.Errorf("generate emitted no *%s (generated: %v)", suffix, generated)
		}
	}
}
