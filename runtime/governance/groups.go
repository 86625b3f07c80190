package governance

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"

	"github.com/govkit/govern/runtime/breaker"
	"github.com/govkit/govern/runtime/metrics"
)

// DefaultTrafficGroup is the group of every call whose group header is
// absent or holds a value that was not declared.
const DefaultTrafficGroup = "default"

// maxTrafficGroups bounds the declared groups: each one is a breaker and a
// limiter per method and a label value on every breaker series.
const maxTrafficGroups = 16

// WithTrafficGroups splits every method's circuit breaker and rate limit by
// a traffic group read from the request header (gRPC metadata) header: a
// call whose header equals one of values (case-insensitively) is counted,
// limited and tripped in that group, any other call in
// DefaultTrafficGroup. Canary traffic (header x-canary, value true) then
// trips its own breaker without opening production's, and a region's
// burst (x-region) spends its own bucket. Each group gets the method's
// whole policy (the same rate, the same breaker thresholds). The group
// label of metrics and logs is a declared value or "default", never the raw
// header. The service config declares the same as
// `groups: {header: x-canary, values: ["true"]}`.
func WithTrafficGroups(header string, values ...string) Option {
	return func(c *config) { c.groupHeader, c.groupValues = header, values }
}

// ValidateTrafficGroups reports why a traffic group declaration (the
// arguments of WithTrafficGroups, the `groups` entry of a service config)
// cannot be used, or nil. internal/configcheck applies the same rules to
// config files.
func ValidateTrafficGroups(header string, values []string) error {
	_, err := trafficGroups(header, values)
	return err
}

// trafficGroups validates a traffic group declaration and returns the
// group names, DefaultTrafficGroup first.
func trafficGroups(header string, values []string) ([]string, error) {
	if header == "" && len(values) == 0 {
		return []string{DefaultTrafficGroup}, nil
	}
	if header == "" || strings.IndexFunc(header, func(r rune) bool {
		return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) >= 0 {
		return nil, fmt.Errorf("traffic group header %q is not a header name: use letters, digits and dashes, such as x-canary", header)
	}
	if len(values) == 0 || len(values) > maxTrafficGroups {
		return nil, fmt.Errorf("traffic groups of header %s declare %d values: declare 1 to %d (each is a breaker and a limiter per method)", header, len(values), maxTrafficGroups)
	}
	groups := []string{DefaultTrafficGroup}
	for _, v := range values {
		switch {
		case strings.TrimSpace(v) == "":
			return nil, fmt.Errorf("traffic groups of header %s have an empty value: remove it", header)
		case strings.EqualFold(v, DefaultTrafficGroup):
			return nil, fmt.Errorf("traffic groups of header %s declare %q, the group of all other traffic: pick another value", header, v)
		case slices.ContainsFunc(groups, func(g string) bool { return strings.EqualFold(g, v) }):
			return nil, fmt.Errorf("traffic groups of header %s declare %q twice: keep one", header, v)
		}
		groups = append(groups, v)
	}
	return groups, nil
}

// group returns the index in g.groups of the call's traffic group: 0 (the
// default group) unless the group header holds a declared value.
func (g *Governor) group(ctx context.Context, header Header) int {
	if len(g.groups) == 1 {
		return 0
	}
	var v string
	if header != nil {
		v = header.Get(g.groupHeader)
	} else if md, ok := metadata.FromIncomingContext(ctx); ok {
		if vals := md[g.groupHeader]; len(vals) > 0 {
			v = vals[0]
		}
	}
	if v == "" {
		return 0
	}
	for i := 1; i < len(g.groups); i++ {
		if strings.EqualFold(v, g.groups[i]) {
			return i
		}
	}
	return 0
}

// breakerAudit exports every breaker's state changes by breaker and
// traffic group.
type breakerAudit struct {
	state       *prometheus.GaugeVec
	transitions *prometheus.CounterVec
	failRatio   *prometheus.GaugeVec
}

func newBreakerAudit(reg prometheus.Registerer) (*breakerAudit, error) {
	labels := []string{"cb_name", "group"}
	a := &breakerAudit{
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "govern_breaker_group_state",
			Help: "State of each circuit breaker by traffic group: 0 closed, 1 half-open, 2 open.",
		}, labels),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govern_breaker_transitions_total",
			Help: "Circuit breaker state changes by breaker, traffic group and new state; the exemplar's trace_id names the call that caused the change.",
		}, append(labels, "state")),
		failRatio: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "govern_breaker_trip_fail_ratio",
			Help: "Failure ratio over the rolling window that last tripped the breaker open (1 for a failed half-open probe).",
		}, labels),
	}
	var err error
	if a.state, err = metrics.RegisterOrReuse(reg, a.state); err != nil {
		return nil, err
	}
	if a.transitions, err = metrics.RegisterOrReuse(reg, a.transitions); err != nil {
		return nil, err
	}
	if a.failRatio, err = metrics.RegisterOrReuse(reg, a.failRatio); err != nil {
		return nil, err
	}
	return a, nil
}

// watch creates the breaker's series at zero and returns its state-change
// callback: the metric series above, the method's govern_breaker_state
// (default group), and one WARN line with cb_name, group, state, from,
// fail_ratio and the trace_id of the call that caused the change.
func (g *Governor) watch(name, group string, series *metrics.MethodSeries) func(breaker.Transition) {
	a := g.audit
	state := a.state.WithLabelValues(name, group)
	state.Set(float64(breaker.Closed))
	ratio := a.failRatio.WithLabelValues(name, group)
	var counters [3]prometheus.Counter
	for _, s := range []breaker.State{breaker.Closed, breaker.HalfOpen, breaker.Open} {
		counters[s] = a.transitions.WithLabelValues(name, group, s.String())
	}
	if group == DefaultTrafficGroup {
		series.SetBreakerState(uint32(breaker.Closed))
	}
	return func(t breaker.Transition) {
		state.Set(float64(t.To))
		if group == DefaultTrafficGroup {
			series.SetBreakerState(uint32(t.To))
		}
		var traceID string
		if t.Context != nil {
			if sc := trace.SpanContextFromContext(t.Context); sc.HasTraceID() {
				traceID = sc.TraceID().String()
			}
		}
		if t.To == breaker.Open {
			ratio.Set(t.FailRatio())
		}
		if c := counters[t.To]; traceID != "" {
			c.(prometheus.ExemplarAdder).AddWithExemplar(1, prometheus.Labels{"trace_id": traceID})
		} else {
			c.Inc()
		}
		g.logger.LogAttrs(context.Background(), slog.LevelWarn, "circuit breaker changed state",
			slog.String("cb_name", name), slog.String("group", group),
			slog.String("state", t.To.String()), slog.String("from", t.From.String()),
			slog.Float64("fail_ratio", t.FailRatio()), slog.String("trace_id", traceID))
	}
}
