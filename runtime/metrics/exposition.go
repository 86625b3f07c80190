package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// serviceLabels are the const labels runtime/governance puts on every
// series: service, env and region.
var serviceLabels = [...]string{"service", "env", "region"}

// ServiceLabelsFirst returns a Gatherer that writes the service, env and
// region labels first, in that order, in every series gathered from g:
// `http_request_duration_seconds_count{service="payment",env="prod",...}`
// rather than client_golang's alphabetical order, where they hide between
// code and method. The exposition format gives label order no meaning
// (Prometheus sorts labels when it ingests them), so nothing but the text
// a person greps changes, and a check like
//
//	curl -s localhost:9090/debug/metrics | grep 'http_request_duration_seconds_count{service="payment"'
//
// finds every series of the service. Serve it on the admin endpoint.
func ServiceLabelsFirst(g prometheus.Gatherer) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		mfs, err := g.Gather()
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				m.Label = leadingFirst(m.Label)
			}
		}
		return mfs, err
	})
}

// leadingFirst moves the service labels to the front, keeping the
// relative order of the others; labels is modified in place.
func leadingFirst(labels []*dto.LabelPair) []*dto.LabelPair {
	next := 0
	for _, name := range serviceLabels {
		for i := next; i < len(labels); i++ {
			if labels[i].GetName() == name {
				lp := labels[i]
				copy(labels[next+1:i+1], labels[next:i])
				labels[next] = lp
				next++
				break
			}
		}
	}
	return labels
}

// WithServiceLabels returns reg wrapped so that every collector registered
// through it carries the service, env and region const labels, as
// runtime/governance does for its own: use it for collectors a service
// registers before or beside its governor (Go and process collectors,
// stores), so that every family of the scrape has the label triple.
func WithServiceLabels(reg prometheus.Registerer, service, env, region string) prometheus.Registerer {
	return prometheus.WrapRegistererWith(prometheus.Labels{serviceLabels[0]: service, serviceLabels[1]: env, serviceLabels[2]: region}, reg)
}
