package slo

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// BurnRate is one multi-window burn-rate alert: it fires when the error
// ratio over both the Long and the Short window exceeds Factor times the
// error budget (1 - availability). The short window makes the alert stop
// soon after the burn stops.
type BurnRate struct {
	Long, Short time.Duration
	Factor      float64
	// Severity is the alert's severity label: "page" or "ticket".
	Severity string
	// Pos is where the objectives file declares it (zero for defaults).
	Pos Position
}

// DefaultBurnRates are the SRE workbook's recommended pairs for a 30-day
// budget: page on 2% of the budget spent in 1h (14.4x) or 5% in 6h (6x),
// ticket on 10% in 1d (3x) or 10% in 3d (1x).
func DefaultBurnRates() []BurnRate {
	return []BurnRate{
		{Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4, Severity: "page"},
		{Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 6, Severity: "page"},
		{Long: 24 * time.Hour, Short: 2 * time.Hour, Factor: 3, Severity: "ticket"},
		{Long: 72 * time.Hour, Short: 6 * time.Hour, Factor: 1, Severity: "ticket"},
	}
}

// Override is one method's entry in the objectives file.
type Override struct {
	// Latency and Availability are zero when not set.
	Latency                     time.Duration
	Availability                float64
	LatencyPos, AvailabilityPos Position
}

// Config is an objectives file (slo.yaml):
//
//	service_label: order       # the `service` label; default: first element of the proto package
//	scrape_interval: 15s       # Prometheus's scrape interval, to check windows
//	budget_period: 30d         # the error budget's period (d = 24h)
//	rate_limited_share: 0.05   # alert when more calls than this are rate limited
//	objectives:
//	  /order.v1.OrderService/CreateOrder: {latency: 300ms, availability: 0.999}
//	burn_rates:                # replaces the SRE workbook's default set
//	  - {long: 1h, short: 5m, factor: 14.4, severity: page}
type Config struct {
	File             string
	ServiceLabel     string
	ScrapeInterval   time.Duration
	BudgetPeriod     time.Duration
	RateLimitedShare float64
	Objectives       map[string]Override
	BurnRates        []BurnRate
}

// DefaultConfig is the configuration without an objectives file: tier
// objectives, the default burn rates over 30 days, a 15s scrape interval
// and a 5% rate-limited share.
func DefaultConfig() *Config {
	return &Config{
		ScrapeInterval:   15 * time.Second,
		BudgetPeriod:     30 * 24 * time.Hour,
		RateLimitedShare: 0.05,
		Objectives:       map[string]Override{},
		BurnRates:        DefaultBurnRates(),
	}
}

// LoadConfig reads and parses an objectives file; see ParseConfig.
func LoadConfig(path string) (*Config, []Problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read the objectives file: %w (pass the path of the service's slo.yaml)", err)
	}
	cfg, problems := ParseConfig(path, data)
	return cfg, problems, nil
}

// ParseConfig parses an objectives file named file. Every problem is
// returned at once, positioned at file:line:col; fields that are wrong keep
// their defaults.
func ParseConfig(file string, data []byte) (*Config, []Problem) {
	p := &parser{cfg: DefaultConfig()}
	p.cfg.File = file
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.errorf(&yaml.Node{Line: 1, Column: 1}, "the objectives file is not valid YAML: %v", err)
		return p.cfg, p.problems
	}
	if len(doc.Content) == 0 {
		return p.cfg, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "the objectives file must be a mapping with objectives, burn_rates, ... (see docs/operators.md)")
		return p.cfg, p.problems
	}
	for k, v := range pairs(root) {
		switch k.Value {
		case "service_label":
			p.cfg.ServiceLabel = v.Value
		case "scrape_interval":
			if d, ok := p.duration(v, "scrape_interval"); ok {
				p.cfg.ScrapeInterval = d
			}
		case "budget_period":
			if d, ok := p.duration(v, "budget_period"); ok {
				p.cfg.BudgetPeriod = d
			}
		case "rate_limited_share":
			if r, ok := p.ratio(v, "rate_limited_share", "write the share of calls, such as 0.05 for 5%"); ok {
				p.cfg.RateLimitedShare = r
			}
		case "objectives":
			p.objectives(v)
		case "burn_rates":
			p.burnRates(v)
		default:
			p.errorf(k, "unknown key %q: use service_label, scrape_interval, budget_period, rate_limited_share, objectives or burn_rates", k.Value)
		}
	}
	p.checkBurnRates()
	return p.cfg, p.problems
}

type parser struct {
	cfg      *Config
	problems []Problem
}

func (p *parser) pos(n *yaml.Node) Position {
	return Position{File: p.cfg.File, Line: n.Line, Col: n.Column}
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.problems = append(p.problems, Problem{Severity: Error, Pos: p.pos(n), Message: fmt.Sprintf(format, args...)})
}

// pairs iterates a mapping node's keys and values.
func pairs(n *yaml.Node) func(yield func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(n.Content[i], n.Content[i+1]) {
				return
			}
		}
	}
}

// parseDuration accepts Go durations plus a "d" suffix for days ("30d").
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func (p *parser) duration(n *yaml.Node, name string) (time.Duration, bool) {
	d, err := parseDuration(n.Value)
	switch {
	case n.Kind != yaml.ScalarNode || err != nil:
		p.errorf(n, "%s %q is not a duration: write it like 300ms, 5m, 6h or 30d", name, n.Value)
		return 0, false
	case d <= 0:
		p.errorf(n, "%s %q must be longer than zero", name, n.Value)
		return 0, false
	}
	return d, true
}

func (p *parser) ratio(n *yaml.Node, name, fix string) (float64, bool) {
	r, err := strconv.ParseFloat(n.Value, 64)
	if n.Kind != yaml.ScalarNode || err != nil || !(r > 0 && r < 1) {
		p.errorf(n, "%s %q must be a number between 0 and 1 (exclusive): %s", name, n.Value, fix)
		return 0, false
	}
	return r, true
}

func (p *parser) objectives(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "objectives must map full method names to {latency, availability}, such as /order.v1.OrderService/CreateOrder: {latency: 300ms}")
		return
	}
	for k, v := range pairs(n) {
		name := k.Value
		if !strings.HasPrefix(name, "/") || strings.Count(name, "/") != 2 {
			p.errorf(k, "objective key %q is not a full method name: write /package.Service/Method, as in the generated policy table", name)
			continue
		}
		if _, dup := p.cfg.Objectives[name]; dup {
			p.errorf(k, "objective for %s is declared twice: merge the entries", name)
			continue
		}
		if v.Kind != yaml.MappingNode {
			p.errorf(v, "objective for %s must be a mapping {latency, availability}", name)
			continue
		}
		var o Override
		for fk, fv := range pairs(v) {
			switch fk.Value {
			case "latency":
				if d, ok := p.duration(fv, "latency"); ok {
					o.Latency, o.LatencyPos = d, p.pos(fv)
				}
			case "availability":
				if r, ok := p.ratio(fv, "availability", "write the share of calls that must succeed, such as 0.999"); ok {
					o.Availability, o.AvailabilityPos = r, p.pos(fv)
				}
			default:
				p.errorf(fk, "unknown objective key %q: use latency or availability", fk.Value)
			}
		}
		p.cfg.Objectives[name] = o
	}
}

func (p *parser) burnRates(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errorf(n, "burn_rates must be a non-empty list of {long, short, factor, severity}; remove it for the SRE workbook's defaults")
		return
	}
	p.cfg.BurnRates = nil
	for _, item := range n.Content {
		if item.Kind != yaml.MappingNode {
			p.errorf(item, "a burn rate must be a mapping {long, short, factor, severity}")
			continue
		}
		br := BurnRate{Severity: "page", Pos: p.pos(item)}
		ok := true
		seen := map[string]bool{}
		for k, v := range pairs(item) {
			seen[k.Value] = true
			var good bool
			switch k.Value {
			case "long":
				br.Long, good = p.duration(v, "long")
			case "short":
				br.Short, good = p.duration(v, "short")
			case "factor":
				f, err := strconv.ParseFloat(v.Value, 64)
				good = err == nil && f > 0
				if !good {
					p.errorf(v, "factor %q must be a number > 0: how many times faster than sustainable the budget burns, such as 14.4", v.Value)
				}
				br.Factor = f
			case "severity":
				br.Severity, good = v.Value, v.Value == "page" || v.Value == "ticket"
				if !good {
					p.errorf(v, "severity %q: use page or ticket", v.Value)
				}
			default:
				p.errorf(k, "unknown burn rate key %q: use long, short, factor or severity", k.Value)
			}
			ok = ok && good
		}
		for _, req := range []string{"long", "short", "factor"} {
			if !seen[req] {
				p.errorf(item, "burn rate has no %s: set long, short and factor", req)
				ok = false
			}
		}
		if ok {
			p.cfg.BurnRates = append(p.cfg.BurnRates, br)
		}
	}
}

// checkBurnRates reports window sets that cannot fire.
func (p *parser) checkBurnRates() {
	c := p.cfg
	for _, br := range c.BurnRates {
		switch {
		case br.Short >= br.Long:
			p.problems = append(p.problems, Problem{Severity: Error, Pos: br.Pos, Message: fmt.Sprintf(
				"burn rate short window %v is not shorter than its long window %v: the short window only exists to reset the alert quickly; make it about 1/12 of the long window (%v)", br.Short, br.Long, br.Long/12)})
		case br.Short < 2*c.ScrapeInterval:
			p.problems = append(p.problems, Problem{Severity: Error, Pos: br.Pos, Message: fmt.Sprintf(
				"burn rate short window %v holds fewer than two scrapes at scrape_interval %v, so rate() over it is empty and the alert cannot fire: use at least %v", br.Short, c.ScrapeInterval, 2*c.ScrapeInterval)})
		case br.Long > c.BudgetPeriod:
			p.problems = append(p.problems, Problem{Severity: Error, Pos: br.Pos, Message: fmt.Sprintf(
				"burn rate long window %v is longer than the budget period %v: shorten it, or lengthen budget_period", br.Long, c.BudgetPeriod)})
		}
	}
}

// Unused returns a warning for every objective naming a method that known
// does not report; a misspelt name would otherwise silently keep the tier
// default.
func (c *Config) Unused(known func(fullMethod string) bool) []Problem {
	names := make([]string, 0, len(c.Objectives))
	for name := range c.Objectives {
		names = append(names, name)
	}
	sort.Strings(names)
	var problems []Problem
	for _, name := range names {
		if known(name) {
			continue
		}
		o := c.Objectives[name]
		pos := o.LatencyPos
		if pos.IsZero() {
			pos = o.AvailabilityPos
		}
		if pos.IsZero() {
			pos = Position{File: c.File, Line: 1, Col: 1}
		}
		problems = append(problems, Problem{Severity: Warning, Pos: pos, Method: name, Message: fmt.Sprintf(
			"objective for %s names no governed method of the generated services, so it is not applied: fix the name (/package.Service/Method) or remove it", name)})
	}
	return problems
}
