package configcheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/govkit/govern/runtime/policy"
)

// Severity says whether a finding always fails the check or only in strict mode.
type Severity uint8

const (
	// SeverityError always fails the check.
	SeverityError Severity = iota
	// SeverityWarning fails the check only in strict mode.
	SeverityWarning
)

// Finding is one problem found in a config file.
type Finding struct {
	File     string
	Line     int
	Severity Severity
	Message  string
}

// String renders the finding as `file:line: message`, with a "warning: "
// prefix on warnings, the format editors and CI annotators understand.
func (f Finding) String() string {
	prefix := ""
	if f.Severity == SeverityWarning {
		prefix = "warning: "
	}
	return fmt.Sprintf("%s:%d: %s%s", f.File, f.Line, prefix, f.Message)
}

// Report is the outcome of one check.
type Report struct {
	// Findings in file order.
	Findings []Finding
	// Strict is true when warnings fail the check.
	Strict bool
}

// Failed reports whether the config must be rejected: any error, or any
// warning in strict mode.
func (r Report) Failed() bool {
	for _, f := range r.Findings {
		if f.Severity == SeverityError || r.Strict {
			return true
		}
	}
	return false
}

// String renders every finding, one per line.
func (r Report) String() string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// DefaultRegionPattern accepts the common cloud region syntax: lower-case
// words and digits joined by dashes, such as us-west-2 (AWS), us-central1 and
// europe-west4 (GCP) or ap-southeast-1.
var defaultRegionPattern = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)

// MaxTimeoutToP99 is the largest allowed ratio between an upstream timeout
// and the upstream's P99 latency.
const MaxTimeoutToP99 = 1.5

// MaxProductionSampling is the largest trace sampling ratio allowed in a
// production environment.
const MaxProductionSampling = policy.MaxProductionSampling

type settings struct {
	strict         bool
	allowedRegions []string
	regionPattern  *regexp.Regexp
	// dial, when set, checks that a registry endpoint answers.
	dial func(hostPort string) error
}

// Option configures Check.
type Option func(*settings)

// WithStrict makes warnings fail the check.
func WithStrict(strict bool) Option { return func(s *settings) { s.strict = strict } }

// WithAllowedRegions replaces the region syntax check with an explicit list
// of allowed region names. An empty list keeps the default pattern.
func WithAllowedRegions(regions ...string) Option {
	return func(s *settings) { s.allowedRegions = slices.Clone(regions) }
}

// WithRegionPattern replaces the default region syntax pattern.
func WithRegionPattern(re *regexp.Regexp) Option {
	return func(s *settings) { s.regionPattern = re }
}

// WithDialCheck makes Check connect to every discovery registry endpoint
// (TCP, within timeout) and report the unreachable ones as errors.
func WithDialCheck(timeout time.Duration) Option {
	return func(s *settings) {
		s.dial = func(hostPort string) error {
			conn, err := net.DialTimeout("tcp", hostPort, timeout)
			if err != nil {
				return err
			}
			return conn.Close()
		}
	}
}

// CheckFile reads path and checks it; see Check.
func CheckFile(path string, opts ...Option) (Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Report{}, fmt.Errorf("read config: %w (pass the path of the service's config.yaml)", err)
	}
	return Check(path, data, opts...), nil
}

var (
	topLevelKeys = []string{"service", "env", "region", "version", "sampling", "sampling_exempt_tiers", "listen", "upstreams", "idempotency", "discovery", "groups"}
	upstreamKeys = []string{"name", "target", "p99", "timeout"}
	listenKeys   = []string{"grpc", "http", "admin"}
	knownEnvs    = []string{"production", "prod", "staging", "stage", "development", "dev", "test", "local"}
)

// Check validates data, the content of the config file named filename.
// It never fails: unreadable YAML is reported as a finding on its line.
func Check(filename string, data []byte, opts ...Option) Report {
	s := settings{regionPattern: defaultRegionPattern}
	for _, o := range opts {
		o(&s)
	}
	c := &checker{file: filename, settings: s}
	c.run(data)
	sort.SliceStable(c.findings, func(i, j int) bool { return c.findings[i].Line < c.findings[j].Line })
	return Report{Findings: c.findings, Strict: s.strict}
}

type checker struct {
	file     string
	settings settings
	findings []Finding
}

func (c *checker) errorf(line int, format string, args ...any) {
	c.findings = append(c.findings, Finding{File: c.file, Line: line, Severity: SeverityError, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) warnf(line int, format string, args ...any) {
	c.findings = append(c.findings, Finding{File: c.file, Line: line, Severity: SeverityWarning, Message: fmt.Sprintf(format, args...)})
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func (c *checker) run(data []byte) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		line := 1
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		if errors.Is(err, io.EOF) {
			c.errorf(1, "file is empty: add the service, env and region labels")
			return
		}
		c.errorf(line, "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		c.errorf(root.Line, "top level must be a mapping with service, env and region keys")
		return
	}
	fields := c.mapping(root, topLevelKeys, "top-level")

	var production bool
	for _, label := range []string{"service", "env", "region"} {
		n, ok := fields[label]
		if !ok {
			c.errorf(root.Line, "missing required label %q: add `%s: <value>` at the top level", label, label)
			continue
		}
		if n.Kind != yaml.ScalarNode || strings.TrimSpace(n.Value) == "" {
			c.errorf(n.Line, "label %q must be a non-empty string", label)
			continue
		}
		switch label {
		case "env":
			env := strings.ToLower(n.Value)
			production = policy.IsProduction(env)
			if !slices.Contains(knownEnvs, env) {
				c.warnf(n.Line, "env %q is not a standard environment name: use one of %s so dashboards group it", n.Value, strings.Join(knownEnvs, ", "))
			}
		case "region":
			c.checkRegion(n)
		}
	}

	sampling, hasSampling := fields["sampling"]
	if hasSampling {
		ratio, err := strconv.ParseFloat(sampling.Value, 64)
		switch {
		case sampling.Kind != yaml.ScalarNode || err != nil:
			c.errorf(sampling.Line, "sampling %q is not a number: write a ratio in [0,1] such as 0.01", sampling.Value)
		case ratio < 0 || ratio > 1:
			c.errorf(sampling.Line, "sampling %v is outside [0,1]: write a ratio such as 0.01 for 1%%", ratio)
		case production && ratio > MaxProductionSampling:
			c.errorf(sampling.Line, "production sampling %v exceeds %v (1%%): lower it to 0.01 or less, or keep one tier's own ratio with sampling_exempt_tiers: [gold]", ratio, MaxProductionSampling)
		}
	} else if production {
		c.warnf(root.Line, "no sampling set for production: add `sampling: 0.01` so the tier defaults cannot exceed 1%%")
	}

	if exempt, ok := fields["sampling_exempt_tiers"]; ok {
		c.checkExemptTiers(exempt)
	}

	if l, ok := fields["listen"]; ok {
		if l.Kind != yaml.MappingNode {
			c.errorf(l.Line, "listen must be a mapping of grpc, http and admin addresses")
		} else {
			c.mapping(l, listenKeys, "listen")
		}
	}
	if u, ok := fields["upstreams"]; ok {
		c.checkUpstreams(u)
	}
	if d, ok := fields["discovery"]; ok {
		c.checkDiscovery(d)
	}
	if g, ok := fields["groups"]; ok {
		c.checkGroups(g)
	}
}

// checkExemptTiers checks sampling_exempt_tiers: a list of tier names
// whose own sampling ratio holds in production.
func (c *checker) checkExemptTiers(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		c.errorf(n.Line, "sampling_exempt_tiers must be a list of tiers such as [gold]")
		return
	}
	for _, item := range n.Content {
		if _, err := policy.ParseTier(item.Value); item.Kind != yaml.ScalarNode || err != nil {
			c.errorf(item.Line, "sampling_exempt_tiers: unknown tier %q: use gold, silver or bronze", item.Value)
		}
	}
}

// mapping returns the keys of a mapping node by name, warning about keys
// that are not in known and reporting duplicates.
func (c *checker) mapping(n *yaml.Node, known []string, where string) map[string]*yaml.Node {
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := out[k.Value]; dup {
			c.errorf(k.Line, "key %q is repeated in %s: keep one", k.Value, where)
			continue
		}
		out[k.Value] = v
		if !slices.Contains(known, k.Value) {
			c.warnf(k.Line, "unknown %s key %q: remove it or fix the spelling (known: %s)", where, k.Value, strings.Join(known, ", "))
		}
	}
	return out
}

func (c *checker) checkRegion(n *yaml.Node) {
	if len(c.settings.allowedRegions) > 0 {
		if !slices.Contains(c.settings.allowedRegions, n.Value) {
			c.errorf(n.Line, "region %q is not in the allowed set: use one of %s", n.Value, strings.Join(c.settings.allowedRegions, ", "))
		}
		return
	}
	if c.settings.regionPattern != defaultRegionPattern {
		if !c.settings.regionPattern.MatchString(n.Value) {
			c.errorf(n.Line, "region %q does not match the allowed pattern %s: use a region of the allowed set", n.Value, c.settings.regionPattern)
		}
		return
	}
	if !c.settings.regionPattern.MatchString(n.Value) {
		c.errorf(n.Line, "region %q is not a cloud region name: write it like us-west-2 or europe-west4 (lower case, dash separated), or pass --allowed-regions", n.Value)
	}
}

func (c *checker) checkUpstreams(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		c.errorf(n.Line, "upstreams must be a list of {name, p99, timeout} entries")
		return
	}
	seen := map[string]int{}
	for _, item := range n.Content {
		if item.Kind != yaml.MappingNode {
			c.errorf(item.Line, "upstream entry must be a mapping with name, p99 and timeout")
			continue
		}
		f := c.mapping(item, upstreamKeys, "upstream")
		name := "<unnamed>"
		if nm, ok := f["name"]; ok && nm.Value != "" {
			name = nm.Value
			if first, dup := seen[name]; dup {
				c.errorf(nm.Line, "upstream %q is declared twice (first on line %d): merge the entries", name, first)
			}
			seen[name] = nm.Line
		} else {
			c.errorf(item.Line, "upstream entry has no name: add `name: <upstream service>`")
		}
		p99, p99ok := c.duration(f, "p99", name)
		timeout, tok := c.duration(f, "timeout", name)
		switch {
		case tok && !p99ok && f["p99"] == nil:
			c.warnf(f["timeout"].Line, "upstream %q sets timeout %s but no p99: add its measured `p99:` so the timeout can be checked", name, timeout)
		case tok && p99ok:
			limit := time.Duration(float64(p99) * MaxTimeoutToP99)
			if timeout > limit {
				c.errorf(f["timeout"].Line, "upstream %q timeout %s exceeds 1.5 x its p99 %s (%s): lower the timeout to %s or less", name, timeout, p99, limit, limit)
			}
		}
	}
}

// duration parses field key of an upstream; ok is false when the field is
// absent or malformed (malformed values are reported).
func (c *checker) duration(f map[string]*yaml.Node, key, upstream string) (time.Duration, bool) {
	n, present := f[key]
	if !present {
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		c.errorf(n.Line, "upstream %q %s %q is not a duration: write it in Go syntax such as 150ms or 2s", upstream, key, n.Value)
		return 0, false
	}
	if d <= 0 {
		c.errorf(n.Line, "upstream %q %s must be positive", upstream, key)
		return 0, false
	}
	return d, true
}
