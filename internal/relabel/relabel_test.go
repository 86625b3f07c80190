package relabel_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/govkit/govern/internal/golden"
	"github.com/govkit/govern/internal/relabel"
	"github.com/govkit/govern/internal/tooltest"
)

func TestGolden(t *testing.T) {
	out, err := relabel.ScrapeConfig(relabel.Options{Job: "govern-shop"})
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "golden", "shop.scrape.yaml"), out)
	out, err = relabel.ScrapeConfig(relabel.Options{Job: "govern-shop", Kubernetes: true, App: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "golden", "shop.kubernetes.scrape.yaml"), out)
}

// TestPromtoolChecksConfig validates the generated configuration, with the
// default and with explicit region groups, with promtool check config. The
// Kubernetes variant is checked by its golden file only: Debian's promtool
// is built without Kubernetes discovery and rejects kubernetes_sd_configs.
func TestPromtoolChecksConfig(t *testing.T) {
	promtool := tooltest.Need(t, "promtool", "prometheus")
	for name, opts := range map[string]relabel.Options{
		"default": {Job: "govern-shop"},
		"groups": {Job: "govern-shop", TargetsFile: "/etc/prometheus/targets/*.json", ExtraLabels: []string{"tenant", "user_id"},
			RegionGroups: map[string][]string{"us": {"us-east-1", "us-west-2"}, "eu": {"eu-west-1"}}},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := relabel.ScrapeConfig(opts)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "prometheus.yml")
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(promtool, "check", "config", path).CombinedOutput(); err != nil {
				t.Fatalf("promtool check config: %v\n%s\n--- config\n%s", err, out, path)
			}
		})
	}
}

func TestScrapeConfigNeedsJobAndApp(t *testing.T) {
	if _, err := relabel.ScrapeConfig(relabel.Options{Job: "x", Kubernetes: true}); err == nil {
		t.Fatal("want an error without the app label")
	}
}
