package configcheck

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govkit/govern/internal/golden"
)

// TestGolden checks every fixture in normal and strict mode against
// testdata/<fixture>.golden.
func TestGolden(t *testing.T) {
	fixtures, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, fixture := range fixtures {
		name := strings.TrimSuffix(filepath.Base(fixture), ".yaml")
		t.Run(name, func(t *testing.T) {
			var got strings.Builder
			for _, strict := range []bool{false, true} {
				report, err := CheckFile(fixture, WithStrict(strict))
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&got, "== strict=%v failed=%v\n%s", strict, report.Failed(), report)
			}
			golden.Check(t, strings.TrimSuffix(fixture, ".yaml")+".golden", []byte(got.String()))
		})
	}
}

func TestRules(t *testing.T) {
	tests := []struct {
		name       string
		config     string
		opts       []Option
		wantFailed bool
		wantSubstr string
	}{
		{
			name:       "timeout exactly 1.5x p99 passes",
			config:     "service: a\nenv: dev\nregion: us-west-2\nupstreams:\n  - name: b\n    p99: 100ms\n    timeout: 150ms\n",
			wantFailed: false,
		},
		{
			name:       "timeout above 1.5x p99 fails on its line",
			config:     "service: a\nenv: dev\nregion: us-west-2\nupstreams:\n  - name: b\n    p99: 100ms\n    timeout: 150001us\n",
			wantFailed: true,
			wantSubstr: "c.yaml:7: upstream \"b\" timeout 150.001ms exceeds 1.5 x its p99",
		},
		{
			name:       "sampling above 1% is fine outside production",
			config:     "service: a\nenv: staging\nregion: us-west-2\nsampling: 0.5\n",
			wantFailed: false,
		},
		{
			name:       "a known tier may be exempted from the production sampling cap",
			config:     "service: a\nenv: production\nregion: us-west-2\nsampling: 0.01\nsampling_exempt_tiers: [gold, TIER_SILVER]\n",
			opts:       []Option{WithStrict(true)},
			wantFailed: false,
		},
		{
			name:       "an unknown exempt tier fails on its line",
			config:     "service: a\nenv: production\nregion: us-west-2\nsampling: 0.01\nsampling_exempt_tiers:\n  - gold\n  - platinum\n",
			wantFailed: true,
			wantSubstr: "c.yaml:7: sampling_exempt_tiers: unknown tier \"platinum\"",
		},
		{
			name:       "exempt tiers must be a list",
			config:     "service: a\nenv: production\nregion: us-west-2\nsampling_exempt_tiers: gold\n",
			wantFailed: true,
			wantSubstr: "must be a list",
		},
		{
			name:       "allowed regions replace the pattern",
			config:     "service: a\nenv: dev\nregion: us-west-2\n",
			opts:       []Option{WithAllowedRegions("eu-central-1")},
			wantFailed: true,
			wantSubstr: "c.yaml:3: region \"us-west-2\" is not in the allowed set: use one of eu-central-1",
		},
		{
			name:       "allowed region passes",
			config:     "service: a\nenv: dev\nregion: eu-central-1\n",
			opts:       []Option{WithAllowedRegions("eu-central-1")},
			wantFailed: false,
		},
		{
			name:       "warning fails only when strict",
			config:     "service: a\nenv: dev\nregion: us-west-2\ncolour: blue\n",
			opts:       []Option{WithStrict(true)},
			wantFailed: true,
			wantSubstr: "c.yaml:4: warning: unknown top-level key \"colour\"",
		},
		{
			name:       "top level must be a mapping",
			config:     "- a\n- b\n",
			wantFailed: true,
			wantSubstr: "c.yaml:1: top level must be a mapping",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Check("c.yaml", []byte(tt.config), tt.opts...)
			if r.Failed() != tt.wantFailed {
				t.Errorf("Failed() = %v, want %v; findings:\n%s", r.Failed(), tt.wantFailed, r)
			}
			if !strings.Contains(r.String(), tt.wantSubstr) {
				t.Errorf("findings do not contain %q:\n%s", tt.wantSubstr, r)
			}
		})
	}
}

func FuzzCheck(f *testing.F) {
	for _, seed := range []string{"service: a\n", "upstreams:\n - p99: 1s\n   timeout: 2s\n", "{", "- [a"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := Check("f.yaml", data)
		for _, finding := range r.Findings {
			if finding.Line < 0 {
				t.Fatalf("negative line in %v", finding)
			}
		}
	})
}

func TestDialCheckReportsAnUnreachableRegistry(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := lis.Addr().String()
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := down.Addr().String()
	_ = down.Close()
	defer lis.Close()
	cfg := fmt.Sprintf("service: a\nenv: dev\nregion: us-west-2\ndiscovery:\n  registry: etcd\n  endpoints:\n    - %s\n    - %s\n", up, downAddr)
	report := Check("c.yaml", []byte(cfg), WithDialCheck(time.Second))
	if len(report.Findings) != 1 || report.Findings[0].Line != 8 || !strings.Contains(report.Findings[0].Message, "unreachable") {
		t.Fatalf("findings %v; want one unreachable endpoint on line 8", report)
	}
}
