package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunAccountsForEveryCall runs every mode briefly and checks the report
// adds up: every scheduled call is counted, successes never exceed calls,
// attempts never fall below calls, and the far region's injected RTT shows
// in its median.
func TestRunAccountsForEveryCall(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Duration = 500 * time.Millisecond
	cfg.Regions[0].Rate, cfg.Regions[1].Rate = 40, 20
	cfg.Regions[1].BrownoutEvery = 0 // a short run must not sit in one brownout
	var all []Result
	for _, mode := range Modes {
		rs, err := Run(t.Context(), cfg, mode)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 2 || rs[0].Region != "near" || rs[1].Region != "far" {
			t.Fatalf("%s: results %+v, want near then far", mode.Name, rs)
		}
		for _, r := range rs {
			want := map[string]int{"near": 20, "far": 10}[r.Region]
			if r.Calls != want || r.OK > r.Calls || r.Attempts < r.Calls || r.OK == 0 {
				t.Errorf("%s/%s: %+v; want %d calls, attempts >= calls, some successes", r.Mode, r.Region, r, want)
			}
		}
		if far := rs[1]; far.P50 < cfg.Regions[1].RTT {
			t.Errorf("%s: far P50 %v below its injected RTT %v", mode.Name, far.P50, cfg.Regions[1].RTT)
		}
		all = append(all, rs...)
	}
	var out bytes.Buffer
	Print(&out, all)
	if got := strings.Count(out.String(), "\n"); got != 1+len(all) {
		t.Errorf("table has %d lines, want %d:\n%s", got, 1+len(all), out.String())
	}
}
