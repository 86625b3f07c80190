package relabel

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// HighCardinalityLabels are label names whose values come from requests
// (users, sessions, traces, raw paths and addresses): a series per value.
var HighCardinalityLabels = []string{
	"user_id", "customer_id", "account_id", "session_id", "request_id",
	"trace_id", "span_id", "idempotency_key", "order_id", "email",
	"client_ip", "remote_addr", "peer_address", "path", "url", "uri",
	"http_target", "url_path",
}

// DefaultRegionGroup folds a cloud region into its geography:
// "us-west-2" -> "us", "europe-west4" -> "europe", "ap-southeast-1" -> "ap".
const DefaultRegionGroup = `([a-z]+)-.*`

// Config is one relabelling step (Prometheus's relabel_config).
type Config struct {
	SourceLabels []string `yaml:"source_labels,flow,omitempty"`
	Separator    string   `yaml:"separator,omitempty"`
	Regex        string   `yaml:"regex,omitempty"`
	TargetLabel  string   `yaml:"target_label,omitempty"`
	Replacement  string   `yaml:"replacement,omitempty"`
	Action       string   `yaml:"action"`
}

// Options describe the scrape job.
type Options struct {
	// Job is the scrape job's name.
	Job string
	// Kubernetes discovers the pods of App (label app.kubernetes.io/name,
	// as the scaffolded Deployment sets it) and scrapes their Port. Without
	// it the job reads its targets from TargetsFile (file_sd_configs), which
	// every Prometheus build supports: Debian's prometheus package is built
	// without Kubernetes discovery.
	Kubernetes bool
	// App is the value of the pods' app.kubernetes.io/name label.
	App string
	// Port is the name of the container port serving the metrics; default
	// "admin".
	Port string
	// TargetsFile is the file_sd file of the job; default
	// "targets/<job>.yaml".
	TargetsFile string
	// MetricsPath defaults to /debug/metrics (runtime/admin).
	MetricsPath string
	// ExtraLabels are dropped in addition to HighCardinalityLabels.
	ExtraLabels []string
	// RegionGroups maps a group to its regions ("us": us-east-1, us-west-2);
	// empty uses DefaultRegionGroup.
	RegionGroups map[string][]string
}

// MetricRelabelConfigs are the rules applied to every scraped series.
func MetricRelabelConfigs(opts Options) []Config {
	var out []Config
	seen := map[string]bool{}
	for _, l := range slices.Concat(HighCardinalityLabels, opts.ExtraLabels) {
		if !seen[l] {
			seen[l] = true
			out = append(out, Config{SourceLabels: []string{l}, Regex: ".+", Action: "drop"})
		}
	}
	if len(opts.RegionGroups) == 0 {
		out = append(out, Config{SourceLabels: []string{"region"}, Regex: DefaultRegionGroup, TargetLabel: "region_group", Replacement: "$1", Action: "replace"})
	} else {
		groups := make([]string, 0, len(opts.RegionGroups))
		for g := range opts.RegionGroups {
			groups = append(groups, g)
		}
		slices.Sort(groups)
		for _, g := range groups {
			quoted := make([]string, len(opts.RegionGroups[g]))
			for i, r := range opts.RegionGroups[g] {
				quoted[i] = regexp.QuoteMeta(r)
			}
			out = append(out, Config{SourceLabels: []string{"region"}, Regex: strings.Join(quoted, "|"), TargetLabel: "region_group", Replacement: g, Action: "replace"})
		}
	}
	return append(out, Config{Regex: "region", Action: "labeldrop"})
}

// ScrapeConfig renders a Prometheus configuration holding the service's
// scrape job (targets from a file, or Kubernetes pods of the app and their
// metrics port) with MetricRelabelConfigs. Merge its scrape_configs entry
// into the fleet's prometheus.yml, or check it alone with
// `promtool check config`.
func ScrapeConfig(opts Options) ([]byte, error) {
	if opts.Job == "" {
		return nil, errors.New("scrape config needs a job name")
	}
	j := job{JobName: opts.Job, MetricsPath: cmp.Or(opts.MetricsPath, "/debug/metrics")}
	if opts.Kubernetes {
		if opts.App == "" {
			return nil, errors.New("a Kubernetes scrape config needs the app label (app.kubernetes.io/name) of the pods to scrape")
		}
		j.KubernetesSDConfigs = []sdConfig{{Role: "pod"}}
		j.RelabelConfigs = []Config{
			{SourceLabels: []string{"__meta_kubernetes_pod_label_app_kubernetes_io_name"}, Regex: regexp.QuoteMeta(opts.App), Action: "keep"},
			{SourceLabels: []string{"__meta_kubernetes_pod_container_port_name"}, Regex: regexp.QuoteMeta(cmp.Or(opts.Port, "admin")), Action: "keep"},
		}
	} else {
		j.FileSDConfigs = []sdConfig{{Files: []string{cmp.Or(opts.TargetsFile, "targets/"+opts.Job+".yaml")}}}
	}
	j.MetricRelabelConfigs = MetricRelabelConfigs(opts)
	cfg := struct {
		ScrapeConfigs []job `yaml:"scrape_configs"`
	}{[]job{j}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return nil, fmt.Errorf("encode scrape config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode scrape config: %w", err)
	}
	return buf.Bytes(), nil
}

type sdConfig struct {
	Role  string   `yaml:"role,omitempty"`
	Files []string `yaml:"files,omitempty"`
}

type job struct {
	JobName              string     `yaml:"job_name"`
	MetricsPath          string     `yaml:"metrics_path"`
	FileSDConfigs        []sdConfig `yaml:"file_sd_configs,omitempty"`
	KubernetesSDConfigs  []sdConfig `yaml:"kubernetes_sd_configs,omitempty"`
	RelabelConfigs       []Config   `yaml:"relabel_configs,omitempty"`
	MetricRelabelConfigs []Config   `yaml:"metric_relabel_configs"`
}
