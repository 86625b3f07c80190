package alertrules

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/govkit/govern/internal/slo"
)

// Metric names the rules read, as the govern runtime exports them.
const (
	HandledTotal       = "grpc_server_handled_total"
	HandlingSeconds    = "grpc_server_handling_seconds"
	BreakerState       = "govern_breaker_state"
	RateLimitRejected  = "govern_ratelimit_rejected_total"
	IdempotencyTotal   = "govern_idempotency_total"
	RegistrationLeases = "govern_registration_lease_lost_total"
)

// Names of the recorded series.
const (
	// ErrorRatioPrefix + window ("govern:grpc_server_error_ratio:rate1h")
	// is the share of calls that failed with a server error code.
	ErrorRatioPrefix = "govern:grpc_server_error_ratio:rate"
	// LatencyP99 is the P99 of grpc_server_handling_seconds over 5m.
	LatencyP99 = "govern:grpc_server_handling_seconds:p99_rate5m"
	// RateLimitedRatio is the share of calls rejected by a rate limit over 5m.
	RateLimitedRatio = "govern:grpc_server_ratelimited_ratio:rate5m"
)

// Alert names.
const (
	AlertBurn             = "GovernErrorBudgetBurn"
	AlertLatency          = "GovernLatencyObjectiveMissed"
	AlertBreakerOpen      = "GovernCircuitBreakerOpen"
	AlertIdempotencyStore = "GovernIdempotencyStoreUnavailable"
	AlertResultLost       = "GovernIdempotencyResultLost"
	AlertRateLimited      = "GovernRateLimitedShareHigh"
	AlertLeaseLost        = "GovernRegistrationLeaseLost"
)

// byLabels are the labels every recorded series keeps: the runtime's const
// labels and the method's identity.
const byLabels = "service, env, region, grpc_service, grpc_method, tier"

// File is a Prometheus rule file.
type File struct {
	Groups []Group `yaml:"groups"`
}

// Group is a rule group, evaluated in order at the global interval.
type Group struct {
	Name  string `yaml:"name"`
	Rules []Rule `yaml:"rules"`
}

// Rule is a recording rule (Record set) or an alerting rule (Alert set).
type Rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// Generate renders plan's rules as one group named after the service:
// the recording rules first, then the alerts that read them. Prometheus
// evaluates the rules of a group in order and groups independently of
// each other, so in one group every alert sees the series recorded in the
// same evaluation; in two groups an alert could read the previous
// evaluation's recording, firing one interval late. The plan must come
// from slo.NewPlan without errors.
func Generate(plan *slo.Plan) *File {
	if len(plan.Methods) == 0 {
		return &File{}
	}
	g := generator{plan: plan, sel: "grpc_service=" + strconv.Quote(plan.Service)}
	return &File{Groups: []Group{
		{Name: "govern:" + plan.Service, Rules: append(g.recording(), g.alerts()...)},
	}}
}

type generator struct {
	plan *slo.Plan
	sel  string
}

// windows are the distinct burn-rate windows, shortest first.
func (g generator) windows() []time.Duration {
	var ws []time.Duration
	for _, br := range g.plan.BurnRates {
		ws = append(ws, br.Long, br.Short)
	}
	slices.Sort(ws)
	return slices.Compact(ws)
}

func (g generator) recording() []Rule {
	errorCodes := strconv.Quote(strings.Join(slo.ServerErrorCodes, "|"))
	var rules []Rule
	for _, w := range g.windows() {
		win := Duration(w)
		rules = append(rules, Rule{
			Record: ErrorRatioPrefix + win,
			Expr: fmt.Sprintf("sum by (%s) (rate(%s{%s,grpc_code=~%s}[%s]))\n/\nsum by (%s) (rate(%s{%s}[%s]))",
				byLabels, HandledTotal, g.sel, errorCodes, win, byLabels, HandledTotal, g.sel, win),
		})
	}
	rules = append(rules, Rule{
		Record: LatencyP99,
		Expr: fmt.Sprintf("histogram_quantile(%g, sum by (le, %s) (rate(%s_bucket{%s}[5m])))",
			slo.Quantile, byLabels, HandlingSeconds, g.sel),
	})
	if g.plan.HasRateLimit() {
		rules = append(rules, Rule{
			Record: RateLimitedRatio,
			Expr: fmt.Sprintf("sum by (%s) (rate(%s{%s}[5m]))\n/\nsum by (%s) (rate(%s{%s}[5m]))",
				byLabels, RateLimitRejected, g.sel, byLabels, HandledTotal, g.sel),
		})
	}
	return rules
}

func (g generator) alerts() []Rule {
	var rules []Rule
	rules = append(rules, g.burnAlerts()...)
	rules = append(rules, g.latencyAlerts()...)
	rules = append(rules, g.breakerAlerts()...)
	if g.plan.HasIdempotency() {
		rules = append(rules, g.idempotencyAlerts()...)
	}
	if g.plan.HasRateLimit() {
		rules = append(rules, Rule{
			Alert:  AlertRateLimited,
			Expr:   fmt.Sprintf("%s{%s} > %s", RateLimitedRatio, g.sel, number(g.plan.RateLimitedShare)),
			For:    "10m",
			Labels: map[string]string{"severity": "ticket"},
			Annotations: map[string]string{
				"summary":     fmt.Sprintf("{{ $labels.grpc_method }} of %s rate-limits more than %s of its calls", g.plan.Service, percent(g.plan.RateLimitedShare)),
				"description": "For 10 minutes more calls were rejected with RESOURCE_EXHAUSTED (reason RATE_LIMITED) than the threshold: callers exceed the declared rate_limit. Raise rate_limit.rps if the load is legitimate, or find the caller that retries too eagerly.",
			},
		})
	}
	rules = append(rules, Rule{
		Alert:  AlertLeaseLost,
		Expr:   fmt.Sprintf("increase(%s{service=%s}[10m]) > 0", RegistrationLeases, strconv.Quote(g.plan.Label)),
		Labels: map[string]string{"severity": "ticket"},
		Annotations: map[string]string{
			"summary":     fmt.Sprintf("a replica of %s lost its discovery registration lease", g.plan.Label),
			"description": "The registry expired the replica's lease (keep-alives did not arrive in time) and the replica re-registered; callers may have lost it as an endpoint meanwhile. Check the replica's connectivity to the registry and its CPU starvation.",
		},
	})
	return rules
}

// classes groups the plan's methods by a key, in first-seen order (methods
// are sorted by name), so that methods sharing a threshold share a rule.
func classes[K comparable](methods []slo.Method, key func(slo.Method) (K, bool)) ([]K, map[K][]string) {
	var order []K
	names := map[K][]string{}
	for _, m := range methods {
		k, ok := key(m)
		if !ok {
			continue
		}
		if _, seen := names[k]; !seen {
			order = append(order, k)
		}
		names[k] = append(names[k], m.Policy.Name)
	}
	return order, names
}

// methodSel matches the named methods of the service.
func (g generator) methodSel(names []string) string {
	if len(names) == 1 {
		return g.sel + ",grpc_method=" + strconv.Quote(names[0])
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return g.sel + ",grpc_method=~" + strconv.Quote(strings.Join(quoted, "|"))
}

func (g generator) burnAlerts() []Rule {
	order, names := classes(g.plan.Methods, func(m slo.Method) (float64, bool) { return m.Objective.Availability, true })
	var rules []Rule
	for _, availability := range order {
		sel := g.methodSel(names[availability])
		budget := round(1 - availability)
		for _, br := range g.plan.BurnRates {
			threshold := number(round(br.Factor * budget))
			long, short := Duration(br.Long), Duration(br.Short)
			spent := time.Duration(float64(g.plan.BudgetPeriod) / br.Factor)
			rules = append(rules, Rule{
				Alert: AlertBurn,
				Expr: fmt.Sprintf("%s%s{%s} > %s\nand\n%s%s{%s} > %s",
					ErrorRatioPrefix, long, sel, threshold, ErrorRatioPrefix, short, sel, threshold),
				Labels: map[string]string{"severity": br.Severity, "long_window": long, "short_window": short},
				Annotations: map[string]string{
					"summary": fmt.Sprintf("{{ $labels.grpc_method }} of %s burns its error budget %sx too fast", g.plan.Service, number(br.Factor)),
					"description": fmt.Sprintf("Over the last %s and %s more than %s of calls failed with a server error code (%s). The objective is %s availability over %s; at this rate the whole budget is spent in %s.",
						long, short, percent(round(br.Factor*budget)), strings.Join(slo.ServerErrorCodes, ", "), percent(availability), Duration(g.plan.BudgetPeriod), Duration(spent.Round(time.Hour))),
				},
			})
		}
	}
	return rules
}

type latencyClass struct {
	latency time.Duration
	tier    string
}

func (g generator) latencyAlerts() []Rule {
	order, names := classes(g.plan.Methods, func(m slo.Method) (latencyClass, bool) {
		return latencyClass{m.Objective.Latency, m.Policy.Tier.String()}, m.LatencyAlert
	})
	var rules []Rule
	for _, c := range order {
		severity := "ticket"
		if c.tier == "gold" {
			severity = "page"
		}
		rules = append(rules, Rule{
			Alert:  AlertLatency,
			Expr:   fmt.Sprintf("%s{%s} > %s", LatencyP99, g.methodSel(names[c]), number(c.latency.Seconds())),
			For:    "10m",
			Labels: map[string]string{"severity": severity},
			Annotations: map[string]string{
				"summary":     fmt.Sprintf("{{ $labels.grpc_method }} of %s is slower than its P99 objective of %v", g.plan.Service, c.latency),
				"description": fmt.Sprintf("For 10 minutes the P99 latency over 5m was above %v (tier %s objective). Current P99: {{ $value | humanizeDuration }}.", c.latency, c.tier),
			},
		})
	}
	return rules
}

func (g generator) breakerAlerts() []Rule {
	order, names := classes(g.plan.Methods, func(m slo.Method) (time.Duration, bool) {
		if m.Policy.CircuitBreaker == nil {
			return 0, false
		}
		return m.Policy.CircuitBreaker.OpenFor, true
	})
	var rules []Rule
	for _, openFor := range order {
		rules = append(rules, Rule{
			Alert:  AlertBreakerOpen,
			Expr:   fmt.Sprintf("%s{%s} == 2", BreakerState, g.methodSel(names[openFor])),
			For:    Duration(openFor),
			Labels: map[string]string{"severity": "page"},
			Annotations: map[string]string{
				"summary":     fmt.Sprintf("the circuit breaker of {{ $labels.grpc_method }} of %s stays open longer than its open_for (%v)", g.plan.Service, openFor),
				"description": "The breaker opened and its half-open probes keep failing, so callers get UNAVAILABLE (reason CIRCUIT_OPEN). Look at what the method depends on: its own errors opened the breaker.",
			},
		})
	}
	return rules
}

func (g generator) idempotencyAlerts() []Rule {
	var full []string
	for _, m := range g.plan.Methods {
		if m.Policy.Idempotency != nil && !m.Policy.Streaming() {
			full = append(full, regexp.QuoteMeta(m.Policy.FullMethod))
		}
	}
	methods := strconv.Quote(strings.Join(full, "|"))
	return []Rule{{
		Alert: AlertIdempotencyStore,
		Expr: fmt.Sprintf("sum by (service, env, region, grpc_method) (rate(%s{grpc_method=~%s,result=\"store_error\"}[5m])) > 0",
			IdempotencyTotal, methods),
		For:    "1m",
		Labels: map[string]string{"severity": "page"},
		Annotations: map[string]string{
			"summary":     fmt.Sprintf("the idempotency store of %s is unavailable for {{ $labels.grpc_method }}", g.plan.Service),
			"description": "Keyed calls fail with UNAVAILABLE (IDEMPOTENCY_STORE_UNAVAILABLE) because the store (Redis) cannot be reached or answers too slowly; the handler is not run, so nothing is duplicated, but the method is down. Check the store.",
		},
	}, {
		// One lost result is one call a retry may run twice: no for,
		// no threshold.
		Alert: AlertResultLost,
		Expr: fmt.Sprintf("sum by (service, env, region, grpc_method) (increase(%s{grpc_method=~%s,result=\"result_lost\"}[10m])) > 0",
			IdempotencyTotal, methods),
		Labels: map[string]string{"severity": "ticket"},
		Annotations: map[string]string{
			"summary":     fmt.Sprintf("{{ $labels.grpc_method }} of %s ran a keyed call whose result the idempotency store never took", g.plan.Service),
			"description": "The handler ran, but the store (Redis) did not accept its result before the claim's lease ended, so a retry of that key runs the handler again: exactly once did not hold. Find the calls in the service's log (\"result not stored before the lease ended\"), check them for duplicates, and keep the lease longer than the store's outages.",
		},
	}}
}

// YAML renders f as a Prometheus rule file.
func (f *File) YAML() ([]byte, error) {
	return marshal(f)
}

// PrometheusRule wraps a rule file's YAML (from File.YAML) in a Kubernetes
// PrometheusRule (Prometheus Operator, monitoring.coreos.com/v1) named
// name: the groups are encoded once for both outputs, YAML encoding being
// most of the generation time of a fleet.
func PrometheusRule(rules []byte, name string, labels map[string]string) ([]byte, error) {
	type metadata struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels,omitempty"`
	}
	head, err := marshal(struct {
		APIVersion string   `yaml:"apiVersion"`
		Kind       string   `yaml:"kind"`
		Metadata   metadata `yaml:"metadata"`
	}{"monitoring.coreos.com/v1", "PrometheusRule", metadata{name, labels}})
	if err != nil {
		return nil, err
	}
	out := append(head, "spec:\n"...)
	for line := range bytes.Lines(rules) {
		if len(bytes.TrimSpace(line)) > 0 {
			out = append(out, "  "...)
		}
		out = append(out, line...)
	}
	return out, nil
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode rules as YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode rules as YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// ResourceName is a DNS-1123 name for service's PrometheusRule:
// "order.v1.OrderService" -> "govern-order-v1-orderservice".
func ResourceName(service string) string {
	var b strings.Builder
	b.WriteString("govern-")
	for _, r := range strings.ToLower(service) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// Duration formats d in Prometheus's duration syntax ("1d", "6h", "5m",
// "1h30m", "250ms").
func Duration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	units := []struct {
		name string
		size time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}}
	var b strings.Builder
	for _, u := range units {
		if n := d / u.size; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			d -= n * u.size
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

// round drops floating-point noise (1 - 0.999 = 0.0010000000000000009).
func round(f float64) float64 { return math.Round(f*1e9) / 1e9 }

func number(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func percent(f float64) string { return number(round(f*100)) + "%" }
