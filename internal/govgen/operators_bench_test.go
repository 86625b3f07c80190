package govgen

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/govkit/govern/internal/tooltest"
)

// BenchmarkFleetOperators measures the operator artefacts on the fleet of
// BenchmarkFleet (127 services x 10 methods), in process: "code" is the Go
// output alone, "code+rules+dashboards" adds the rule files,
// PrometheusRules, dashboards and scrape configs of every service. Their
// difference is what rules=true,dashboards=true,scrape=true cost.
func BenchmarkFleetOperators(b *testing.B) {
	dir, names := writeFleet(b)
	for _, tc := range []struct{ name, param string }{
		{"code", "paths=source_relative"},
		{"code+rules+dashboards", "paths=source_relative,rules=true,dashboards=true,scrape=true"},
	} {
		in, err := proto.Marshal(compileRequest(b, tc.param, append([]string{dir}, protoImportPaths...), names...))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Run(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestFleetRulesPassPromtool generates the rules of the 127-service fleet
// and checks them all with one promtool run.
func TestFleetRulesPassPromtool(t *testing.T) {
	promtool := tooltest.Need(t, "promtool", "prometheus")
	dir, names := writeFleet(t)
	resp := generate(t, compileRequest(t, "paths=source_relative,rules=true", append([]string{dir}, protoImportPaths...), names...))
	if resp.Error != nil {
		t.Fatal(resp.GetError())
	}
	out := t.TempDir()
	var files []string
	for _, f := range resp.File {
		if !strings.HasSuffix(f.GetName(), ".rules.yaml") {
			continue
		}
		path := filepath.Join(out, f.GetName())
		if err := os.WriteFile(path, []byte(f.GetContent()), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	if len(files) != fleetServices {
		t.Fatalf("%d rule files, want %d", len(files), fleetServices)
	}
	if msg, err := exec.Command(promtool, append([]string{"check", "rules"}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, msg)
	}
}
