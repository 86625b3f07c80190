package dashboard_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"

	dash "github.com/govkit/govern/internal/dashboard"
	"github.com/govkit/govern/internal/golden"
	"github.com/govkit/govern/internal/slo"
	"github.com/govkit/govern/internal/slo/slotest"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/policy"
)

func generate(t *testing.T) []byte {
	t.Helper()
	plan, problems := slo.NewPlan(slotest.Service, slotest.Table(), nil)
	if slo.HasErrors(problems) {
		t.Fatal(problems)
	}
	out, err := dash.Generate(plan, dash.Options{Description: "test dashboard"})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGolden(t *testing.T) {
	golden.Check(t, filepath.Join("testdata", "golden", "checkout.dashboard.json"), generate(t))
}

// TestPanelsQueryExportedMetrics parses the dashboard back with the SDK's
// strict decoder and checks that every panel has a query and that every
// metric a query selects is one the runtime exports for the service's
// methods.
func TestPanelsQueryExportedMetrics(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	var d dashboard.Dashboard
	raw := generate(t)
	// The strict decoder rejects unknown and mistyped fields; it returns an
	// empty cog.BuildErrors, not nil, on success.
	err := new(dashboard.Dashboard).UnmarshalJSONStrict(raw)
	if be, ok := err.(cog.BuildErrors); ok && len(be) == 0 {
		err = nil
	}
	if err == nil {
		err = json.Unmarshal(raw, &d)
	}
	if err != nil {
		t.Fatalf("the dashboard does not parse as a Grafana dashboard: %v", err)
	}
	exported := slotest.ExportedMetrics(t, slotest.Table())
	var titles []string
	for _, p := range d.Panels {
		if p.Panel == nil {
			continue // rows
		}
		titles = append(titles, *p.Panel.Title)
		if len(p.Panel.Targets) == 0 {
			t.Errorf("panel %q has no query", *p.Panel.Title)
		}
		for _, target := range p.Panel.Targets {
			q, ok := target.(*prometheus.Dataquery)
			if !ok {
				t.Fatalf("panel %q: target %T is not a Prometheus query", *p.Panel.Title, target)
			}
			names := slotest.SelectedMetrics(q.Expr)
			if len(names) == 0 {
				t.Errorf("panel %q: %q selects no metric", *p.Panel.Title, q.Expr)
			}
			for _, n := range names {
				if !exported[n] {
					t.Errorf("panel %q queries %s, which the runtime does not export", *p.Panel.Title, n)
				}
			}
		}
	}
	want := []string{"Calls per second by method", "Errors by code", "GetCart P99 (objective 200ms)", "Pay P99 (objective 50ms)", "Circuit breaker state", "Rate-limit rejections", "Idempotency outcomes"}
	if !slices.Equal(titles, want) {
		t.Errorf("panels %q, want %q", titles, want)
	}
}

// TestIdempotencyOutcomesAreTheRuntimeResults checks that the outcomes the
// panel describes are the result label values the runtime records.
func TestIdempotencyOutcomesAreTheRuntimeResults(t *testing.T) {
	out := string(generate(t))
	for _, r := range []string{idempotency.ResultExecuted, idempotency.ResultReplayed, idempotency.ResultInFlight, idempotency.ResultKeyReused, idempotency.ResultMissing, idempotency.ResultInvalid, idempotency.ResultStoreError} {
		if !strings.Contains(out, r+" (") && !strings.Contains(out, r+",") && !strings.Contains(out, r+" ") {
			t.Errorf("the idempotency panel does not explain the outcome %q", r)
		}
	}
}

func TestNoGovernedMethods(t *testing.T) {
	plan, _ := slo.NewPlan("x.v1.Off", policy.Table{}, nil)
	_, err := dash.Generate(plan, dash.Options{})
	if err == nil || !strings.Contains(err.Error(), "no governed methods") {
		t.Fatalf("want an error naming the missing methods, got %v", err)
	}
}

func TestOutputIsJSON(t *testing.T) {
	var v map[string]any
	if err := json.Unmarshal(generate(t), &v); err != nil {
		t.Fatal(err)
	}
	if v["uid"] != dash.UID(slotest.Service) || len(v["uid"].(string)) > 40 {
		t.Errorf("uid %v", v["uid"])
	}
}
