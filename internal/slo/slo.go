package slo

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/govkit/govern/runtime/policy"
)

// Severity says whether a problem stops generation.
type Severity uint8

const (
	// Error stops generation: the artefact would be wrong.
	Error Severity = iota
	// Warning is reported and generation goes on without the affected alert.
	Warning
)

// Position is a place in an objectives file; the zero value means the
// problem is about the proto source (see Problem.Method).
type Position struct {
	File      string
	Line, Col int
}

// IsZero reports whether p names no place.
func (p Position) IsZero() bool { return p.File == "" && p.Line == 0 }

func (p Position) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Problem is one thing wrong with the objectives of a service.
type Problem struct {
	Severity Severity
	// Pos is set for problems in the objectives file.
	Pos Position
	// Service (full proto name) and Method (full method name) locate
	// problems in the proto source when Pos is zero; Field is the policy
	// field the problem is about ("timeout"), empty for the method or
	// service declaration itself.
	Service, Method, Field string
	// Message says what is wrong and how to fix it.
	Message string
}

// String renders the problem as "file:line:col: [warning: ]message" when it
// has a position, else "method: message".
func (p Problem) String() string {
	prefix := ""
	if p.Severity == Warning {
		prefix = "warning: "
	}
	where := cmp.Or(p.Method, p.Service)
	if !p.Pos.IsZero() {
		where = p.Pos.String()
	}
	return where + ": " + prefix + p.Message
}

// Objective is what a method promises: its P99 latency and the share of its
// calls that succeed.
type Objective struct {
	// Latency is the P99 latency objective.
	Latency time.Duration
	// Availability is the share of calls that must not fail with a server
	// error code, in (0,1), e.g. 0.999.
	Availability float64
	// Declared is true when the objectives file set the latency, false when
	// it is the tier default.
	Declared bool
}

// Quantile is the latency quantile the objectives bound.
const Quantile = 0.99

// TierObjective is the default objective of a tier: gold 50ms and 99.9%,
// silver 200ms and 99.5%, bronze (and unspecified) 1s and 99%.
func TierObjective(t policy.Tier) Objective {
	switch t {
	case policy.TierGold:
		return Objective{Latency: 50 * time.Millisecond, Availability: 0.999}
	case policy.TierSilver:
		return Objective{Latency: 200 * time.Millisecond, Availability: 0.995}
	default:
		return Objective{Latency: time.Second, Availability: 0.99}
	}
}

// ServerErrorCodes are the gRPC codes that spend error budget: failures of
// the server, not of the caller's request. RESOURCE_EXHAUSTED (load shed by
// a rate limit) has its own alert on the rate-limited share.
var ServerErrorCodes = []string{"Unknown", "DeadlineExceeded", "Unimplemented", "Internal", "Unavailable", "DataLoss"}

// Method is one governed method of a Plan.
type Method struct {
	Policy    *policy.Method
	Objective Objective
	// LatencyAlert is false for streaming methods and when the objective
	// cannot be missed (it is not shorter than the method's timeout; a
	// warning says so).
	LatencyAlert bool
}

// Plan is everything the generated artefacts of one service say.
type Plan struct {
	// Service is the full proto name, the grpc_service label value.
	Service string
	// Label is the value of the `service` const label the runtime puts on
	// every series (config.yaml's service).
	Label string
	// Methods are the governed methods, by name.
	Methods          []Method
	BurnRates        []BurnRate
	RateLimitedShare float64
	ScrapeInterval   time.Duration
	BudgetPeriod     time.Duration
}

// HasIdempotency reports whether any method deduplicates keyed calls.
func (p *Plan) HasIdempotency() bool {
	return slices.ContainsFunc(p.Methods, func(m Method) bool { return m.Policy.Idempotency != nil && !m.Policy.Streaming() })
}

// HasRateLimit reports whether any method has a rate limit.
func (p *Plan) HasRateLimit() bool {
	return slices.ContainsFunc(p.Methods, func(m Method) bool { return m.Policy.RateLimit != nil })
}

// HasBreaker reports whether any method has a circuit breaker.
func (p *Plan) HasBreaker() bool {
	return slices.ContainsFunc(p.Methods, func(m Method) bool { return m.Policy.CircuitBreaker != nil })
}

// DefaultLabel derives the `service` label of a proto service when the
// objectives file names none: the first element of its package
// ("order.v1.OrderService" -> "order"), which is what govscaffold names a
// service's config.
func DefaultLabel(service string) string {
	first, _, _ := strings.Cut(service, ".")
	return first
}

// NewPlan resolves the objectives of the governed methods of service (its
// full proto name) from its generated policy table and cfg (nil means
// DefaultConfig). Problems with Severity Error mean the plan must not be
// rendered.
func NewPlan(service string, table policy.Table, cfg *Config) (*Plan, []Problem) {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	p := &Plan{
		Service:          service,
		Label:            cmp.Or(cfg.ServiceLabel, DefaultLabel(service)),
		BurnRates:        cfg.BurnRates,
		RateLimitedShare: cfg.RateLimitedShare,
		ScrapeInterval:   cfg.ScrapeInterval,
		BudgetPeriod:     cfg.BudgetPeriod,
	}
	var problems []Problem
	for _, pm := range governed(service, table) {
		// A stream's handling time is its lifetime, not a latency: streams
		// get burn-rate alerts but no latency alert.
		m := Method{Policy: pm, Objective: TierObjective(pm.Tier), LatencyAlert: !pm.Streaming()}
		o, declared := cfg.Objectives[pm.FullMethod]
		if declared {
			if o.Latency > 0 {
				m.Objective.Latency, m.Objective.Declared = o.Latency, true
			}
			if o.Availability > 0 {
				m.Objective.Availability = o.Availability
			}
		}
		if m.LatencyAlert && pm.Timeout > 0 && m.Objective.Latency >= pm.Timeout {
			m.LatencyAlert = false
			if m.Objective.Declared {
				problems = append(problems, Problem{Severity: Error, Pos: o.LatencyPos, Method: pm.FullMethod, Message: fmt.Sprintf(
					"latency objective %v of %s is not shorter than its timeout %v: calls are cut at the timeout, so the P99 can never exceed %v and the alert could never fire; lower the objective below %v or raise the method's timeout",
					m.Objective.Latency, pm.FullMethod, pm.Timeout, m.Objective.Latency, pm.Timeout)})
			} else {
				problems = append(problems, Problem{Severity: Warning, Service: service, Method: pm.FullMethod, Field: "timeout", Message: fmt.Sprintf(
					"tier %s's latency objective %v for %s is not shorter than its timeout %v, so it can never be missed and no latency alert is generated: declare a shorter objective in the objectives file (objectives: {%q: {latency: %v}}) or raise the timeout",
					pm.Tier, m.Objective.Latency, pm.Name, pm.Timeout, pm.FullMethod, suggestLatency(pm.Timeout))})
			}
		}
		for _, br := range p.BurnRates {
			if threshold := br.Factor * (1 - m.Objective.Availability); threshold >= 1 {
				pos := br.Pos
				if declared && o.Availability > 0 {
					pos = o.AvailabilityPos
				}
				problems = append(problems, Problem{Severity: Error, Pos: pos, Method: pm.FullMethod, Message: fmt.Sprintf(
					"burn rate %gx over %v/%v cannot fire for %s: with availability %g it needs an error ratio of %.3g, above 100%%; raise the availability objective above %.4g or lower the factor below %.3g",
					br.Factor, br.Long, br.Short, pm.FullMethod, m.Objective.Availability, threshold, 1-1/br.Factor, 1/(1-m.Objective.Availability))})
			}
		}
		p.Methods = append(p.Methods, m)
	}
	if len(p.Methods) == 0 {
		problems = append(problems, Problem{Severity: Warning, Service: service, Message: fmt.Sprintf(
			"service %s has no governed methods (none declared, or every one disabled), so no rules or dashboard are generated for it: remove `disabled: true` from its policy, or leave it out of the rules",
			service)})
	}
	return p, problems
}

// governed returns the governed methods of service in table, by name.
func governed(service string, table policy.Table) []*policy.Method {
	var out []*policy.Method
	for _, pm := range table {
		if pm != nil && !pm.Disabled && pm.Service == service {
			out = append(out, pm)
		}
	}
	slices.SortFunc(out, func(a, b *policy.Method) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// suggestLatency proposes an objective comfortably under a timeout.
func suggestLatency(timeout time.Duration) time.Duration {
	return (timeout / 2).Round(time.Millisecond)
}

// HasErrors reports whether any problem is an Error.
func HasErrors(problems []Problem) bool {
	return slices.ContainsFunc(problems, func(p Problem) bool { return p.Severity == Error })
}
