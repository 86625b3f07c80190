package dashboard

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/govkit/govern/internal/alertrules"
	"github.com/govkit/govern/internal/slo"
)

// Options describe the generated dashboard beyond the plan.
type Options struct {
	// Description is the dashboard's description, such as a "Code
	// generated ... DO NOT EDIT." line naming the source.
	Description string
}

// UID is the dashboard's stable uid: "govern-" and a hash of the service
// name (Grafana limits uids to 40 characters).
func UID(service string) string {
	sum := sha256.Sum256([]byte(service))
	return "govern-" + hex.EncodeToString(sum[:8])
}

// Generate builds the dashboard of plan and returns its JSON. The plan must
// have governed methods (slo.NewPlan warns when it has none).
func Generate(plan *slo.Plan, opts Options) ([]byte, error) {
	if len(plan.Methods) == 0 {
		return nil, fmt.Errorf("service %s has no governed methods: there is nothing to draw; remove `disabled: true` from its policy or leave it out of the dashboards", plan.Service)
	}
	b := builder{plan: plan, sel: "grpc_service=" + strconv.Quote(plan.Service) + `,env=~"$env",region=~"$region"`}
	d := dashboard.NewDashboardBuilder(plan.Service+" (govern)").
		Uid(UID(plan.Service)).
		Description(opts.Description).
		Tags([]string{"govern", plan.Label}).
		Refresh("30s").
		Time("now-3h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus")).
		WithVariable(b.labelVariable("env")).
		WithVariable(b.labelVariable("region"))

	d.WithRow(dashboard.NewRowBuilder("Traffic"))
	d.WithPanel(b.panel("Calls per second by method", "reqps",
		"Calls handled per second, by method (grpc_server_handled_total).",
		b.query(fmt.Sprintf("sum by (grpc_method) (rate(%s{%s}[$__rate_interval]))", alertrules.HandledTotal, b.sel), "{{grpc_method}}")).
		Span(12))
	d.WithPanel(b.panel("Errors by code", "reqps",
		"Calls that did not end OK, per second, by method and gRPC code. Server codes ("+strings.Join(slo.ServerErrorCodes, ", ")+") spend the error budget.",
		b.query(fmt.Sprintf(`sum by (grpc_method, grpc_code) (rate(%s{%s,grpc_code!="OK"}[$__rate_interval]))`, alertrules.HandledTotal, b.sel), "{{grpc_method}} {{grpc_code}}")).
		Span(12))

	d.WithRow(dashboard.NewRowBuilder("Latency against objectives"))
	for _, m := range plan.Methods {
		if !m.LatencyAlert {
			continue
		}
		d.WithPanel(b.latencyPanel(m))
	}

	d.WithRow(dashboard.NewRowBuilder("Governance"))
	if plan.HasBreaker() {
		d.WithPanel(b.breakerPanel())
	}
	if plan.HasRateLimit() {
		d.WithPanel(b.panel("Rate-limit rejections", "reqps",
			"Calls rejected per second by the method's rate_limit (RESOURCE_EXHAUSTED, reason RATE_LIMITED).",
			b.query(fmt.Sprintf("sum by (grpc_method) (rate(%s{%s}[$__rate_interval]))", alertrules.RateLimitRejected, b.sel), "{{grpc_method}}")).
			Span(8))
	}
	if plan.HasIdempotency() {
		d.WithPanel(b.idempotencyPanel())
	}

	built, err := d.Build()
	if err != nil {
		return nil, fmt.Errorf("build the dashboard of %s: %w", plan.Service, err)
	}
	out, err := json.MarshalIndent(built, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the dashboard of %s: %w", plan.Service, err)
	}
	return append(out, '\n'), nil
}

type builder struct {
	plan *slo.Plan
	sel  string
}

func (b builder) datasource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}
}

// labelVariable offers the values of a const label the runtime puts on
// every series of the service.
func (b builder) labelVariable(label string) *dashboard.QueryVariableBuilder {
	q := fmt.Sprintf("label_values(%s{grpc_service=%s}, %s)", alertrules.HandledTotal, strconv.Quote(b.plan.Service), label)
	return dashboard.NewQueryVariableBuilder(label).
		Label(label).
		Datasource(b.datasource()).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Multi(true).
		IncludeAll(true).
		AllValue(".*")
}

func (b builder) query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Expr(expr).LegendFormat(legend).Datasource(b.datasource())
}

func (b builder) panel(title, unit, description string, queries ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Unit(unit).
		Min(0).
		Height(8).
		Datasource(b.datasource())
	for _, q := range queries {
		p.WithTarget(q)
	}
	return p
}

func (b builder) latencyPanel(m slo.Method) *timeseries.PanelBuilder {
	name := m.Policy.Name
	objective := m.Objective.Latency.Seconds()
	expr := fmt.Sprintf("histogram_quantile(%g, sum by (le) (rate(%s_bucket{%s,grpc_method=%s}[$__rate_interval])))",
		slo.Quantile, alertrules.HandlingSeconds, b.sel, strconv.Quote(name))
	source := "tier " + m.Policy.Tier.String()
	if m.Objective.Declared {
		source = "declared"
	}
	return b.panel(fmt.Sprintf("%s P99 (objective %v)", name, m.Objective.Latency), "s",
		fmt.Sprintf("P99 latency of %s against its objective of %v (%s), drawn as the red line.", name, m.Objective.Latency, source),
		b.query(expr, "P99")).
		Span(8).
		Thresholds(dashboard.NewThresholdsConfigBuilder().
			Mode(dashboard.ThresholdsModeAbsolute).
			Steps([]dashboard.Threshold{{Color: "green"}, {Value: cog.ToPtr(objective), Color: "red"}})).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine))
}

func (b builder) breakerPanel() *timeseries.PanelBuilder {
	text := func(s, color string) dashboard.ValueMappingResult {
		return dashboard.ValueMappingResult{Text: cog.ToPtr(s), Color: cog.ToPtr(color)}
	}
	return b.panel("Circuit breaker state", "none",
		"Worst breaker state across replicas, by method: 0 closed, 1 half-open, 2 open (govern_breaker_state).",
		b.query(fmt.Sprintf("max by (grpc_method) (%s{%s})", alertrules.BreakerState, b.sel), "{{grpc_method}}")).
		Span(8).
		Max(2).
		Mappings([]dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
			Type: dashboard.MappingTypeValueToText,
			Options: map[string]dashboard.ValueMappingResult{
				"0": text("closed", "green"), "1": text("half-open", "orange"), "2": text("open", "red"),
			},
		}}})
}

func (b builder) idempotencyPanel() *timeseries.PanelBuilder {
	var full []string
	for _, m := range b.plan.Methods {
		if m.Policy.Idempotency != nil && !m.Policy.Streaming() {
			full = append(full, regexp.QuoteMeta(m.Policy.FullMethod))
		}
	}
	// govern_idempotency_total labels methods by full name and carries no
	// grpc_service label.
	sel := "grpc_method=~" + strconv.Quote(strings.Join(full, "|")) + `,env=~"$env",region=~"$region"`
	return b.panel("Idempotency outcomes", "reqps",
		"Keyed calls per second by outcome: executed (the handler ran), replayed (a stored result was returned), in_flight (rejected: the same key is running), key_reused (rejected: the key came with another request), missing, invalid, store_error, result_lost (the handler ran but its result was never stored: a retry runs it again) (govern_idempotency_total).",
		b.query(fmt.Sprintf("sum by (grpc_method, result) (rate(%s{%s}[$__rate_interval]))", alertrules.IdempotencyTotal, sel), "{{grpc_method}} {{result}}")).
		Span(8)
}
