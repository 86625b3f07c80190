package metrics

import (
	"errors"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// OtherLabelValue is the label value overflowing values are folded into.
const OtherLabelValue = "other"

// SeriesFoldedTotal counts the series a CardinalityGuard folded, by metric
// family.
const SeriesFoldedTotal = "govern_metric_series_folded_total"

// DefaultMaxLabelValues is the default number of distinct values a
// CardinalityGuard lets each label of a metric family have.
const DefaultMaxLabelValues = 100

// GuardOption configures a CardinalityGuard.
type GuardOption func(*CardinalityGuard)

// WithMaxLabelValues sets how many distinct values each label of a
// family may have before new values fold into "other" (default
// DefaultMaxLabelValues).
func WithMaxLabelValues(n int) GuardOption {
	return func(g *CardinalityGuard) {
		if n > 0 {
			g.limit = n
		}
	}
}

// CardinalityGuard is a prometheus.Registerer that bounds what every
// collector registered through it exports: each label of each metric
// family keeps at most a fixed number of distinct values (the first ones
// seen, stable from scrape to scrape); a series with a value beyond that
// is exported with the value "other" instead, summed with the other
// overflowing series (counters, gauges, histogram buckets, summary count
// and sum), and counted once in govern_metric_series_folded_total{metric}.
// A label fed from request data (a user id, a raw path) therefore cannot
// grow the scrape, the Prometheus TSDB or the dashboards without bound.
//
// It works at collection time, so the collectors themselves are plain
// client_golang ones and their hot path (Inc, Observe) costs nothing more.
// An overflowing child of a counter or histogram vector is folded and then
// deleted from its vector, so the process's memory stays bounded by the
// distinct values seen between two scrapes (an increment racing with the
// fold of its series at scrape time can be lost); gauges and summaries are
// folded but kept, because deleting them would lose a set value.
//
// Collectors registered on next directly are not guarded.
type CardinalityGuard struct {
	next   prometheus.Registerer
	limit  int
	folded *prometheus.CounterVec
}

var _ prometheus.Registerer = (*CardinalityGuard)(nil)

// NewCardinalityGuard returns a guard registering on next, with its
// govern_metric_series_folded_total counter registered (or reused) there.
func NewCardinalityGuard(next prometheus.Registerer, opts ...GuardOption) (*CardinalityGuard, error) {
	g := &CardinalityGuard{next: next, limit: DefaultMaxLabelValues}
	for _, o := range opts {
		o(g)
	}
	folded, err := RegisterOrReuse(next, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: SeriesFoldedTotal,
		Help: "Series exported with a label value folded into \"other\" by govern's cardinality guard, by metric family; a non-zero rate means a label takes its values from unbounded data.",
	}, []string{"metric"}))
	if err != nil {
		return nil, err
	}
	g.folded = folded
	return g, nil
}

// Register implements prometheus.Registerer: c is registered on next
// behind the guard. An AlreadyRegisteredError names the collector as it
// was registered, so RegisterOrReuse works through the guard.
func (g *CardinalityGuard) Register(c prometheus.Collector) error {
	err := g.next.Register(&guardedCollector{inner: c, guard: g, families: map[*prometheus.Desc]*familyState{}})
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(*guardedCollector); ok {
			already.ExistingCollector = existing.inner
		}
		already.NewCollector = c
		return already
	}
	return err
}

// MustRegister implements prometheus.Registerer.
func (g *CardinalityGuard) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := g.Register(c); err != nil {
			panic(err)
		}
	}
}

// Unregister implements prometheus.Registerer.
func (g *CardinalityGuard) Unregister(c prometheus.Collector) bool {
	return g.next.Unregister(&guardedCollector{inner: c})
}

// guardedCollector folds the overflow of one registered collector.
type guardedCollector struct {
	inner    prometheus.Collector
	guard    *CardinalityGuard
	mu       sync.Mutex // one collection at a time
	families map[*prometheus.Desc]*familyState
}

// familyState is what the guard remembers of one metric family.
type familyState struct {
	name     string
	admitted map[string]map[string]bool // label name -> values with a series of their own
	retired  map[string]*dto.Metric     // folded label values -> totals of deleted children
	seen     map[string]bool            // kept (not deleted) overflowing series already counted
}

func (c *guardedCollector) Describe(ch chan<- *prometheus.Desc) { c.inner.Describe(ch) }

// deleter is what counter and histogram vectors offer to drop a child.
type deleter interface {
	Delete(prometheus.Labels) bool
}

// fold is the sum of one folded series in one collection.
type fold struct {
	desc *prometheus.Desc
	pb   *dto.Metric
}

func (c *guardedCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Drain first: a vector holds its read lock while it collects, and
	// deleting a folded child needs the write lock.
	inner := make(chan prometheus.Metric, 64)
	go func() {
		c.inner.Collect(inner)
		close(inner)
	}()
	var collected []prometheus.Metric
	for m := range inner {
		collected = append(collected, m)
	}
	vec, deletable := c.inner.(deleter)
	folds := map[*prometheus.Desc]map[string]*fold{}
	for _, m := range collected {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			ch <- m // the registry reports the error
			continue
		}
		fam := c.family(m.Desc())
		key, overflow := fam.admit(&pb, c.guard.limit)
		if !overflow {
			ch <- m
			continue
		}
		byKey := folds[m.Desc()]
		if byKey == nil {
			byKey = map[string]*fold{}
			folds[m.Desc()] = byKey
		}
		f := byKey[key]
		if f == nil {
			f = &fold{desc: m.Desc(), pb: foldedLabels(&pb, fam)}
			byKey[key] = f
		}
		monotonic := pb.Counter != nil || pb.Histogram != nil
		switch {
		case monotonic && deletable && vec.Delete(labelMap(&pb)):
			if fam.retired[key] == nil {
				fam.retired[key] = foldedLabels(&pb, fam)
			}
			addValues(fam.retired[key], &pb)
			c.guard.folded.WithLabelValues(fam.name).Inc()
		default:
			addValues(f.pb, &pb)
			if id := seriesID(&pb); !fam.seen[id] {
				fam.seen[id] = true
				c.guard.folded.WithLabelValues(fam.name).Inc()
			}
		}
	}
	// Folded series of earlier collections that had no overflow now still
	// export their retired totals (a counter never goes back).
	for desc, fam := range c.families {
		for key, retired := range fam.retired {
			byKey := folds[desc]
			if byKey == nil {
				byKey = map[string]*fold{}
				folds[desc] = byKey
			}
			f := byKey[key]
			if f == nil {
				f = &fold{desc: desc, pb: foldedLabels(retired, fam)}
				byKey[key] = f
			}
			addValues(f.pb, retired)
		}
	}
	for _, byKey := range folds {
		for _, f := range byKey {
			ch <- foldedMetric(*f)
		}
	}
}

func (c *guardedCollector) family(desc *prometheus.Desc) *familyState {
	fam := c.families[desc]
	if fam == nil {
		fam = &familyState{name: descName(desc), admitted: map[string]map[string]bool{}, retired: map[string]*dto.Metric{}, seen: map[string]bool{}}
		c.families[desc] = fam
	}
	return fam
}

// admit records pb's label values and reports whether one overflows the
// limit; key is the series' label values after folding.
func (f *familyState) admit(pb *dto.Metric, limit int) (key string, overflow bool) {
	var b strings.Builder
	for _, lp := range pb.GetLabel() {
		values := f.admitted[lp.GetName()]
		if values == nil {
			values = map[string]bool{}
			f.admitted[lp.GetName()] = values
		}
		v := lp.GetValue()
		if !values[v] {
			if len(values) < limit {
				values[v] = true
			} else {
				v, overflow = OtherLabelValue, true
			}
		}
		b.WriteString(v)
		b.WriteByte(0xff)
	}
	return b.String(), overflow
}

// foldedLabels returns an empty metric of pb's type with pb's labels, the
// overflowing values replaced by "other".
func foldedLabels(pb *dto.Metric, fam *familyState) *dto.Metric {
	out := &dto.Metric{}
	for _, lp := range pb.GetLabel() {
		v := lp.GetValue()
		if !fam.admitted[lp.GetName()][v] {
			v = OtherLabelValue
		}
		out.Label = append(out.Label, &dto.LabelPair{Name: proto.String(lp.GetName()), Value: proto.String(v)})
	}
	switch {
	case pb.Counter != nil:
		out.Counter = &dto.Counter{Value: proto.Float64(0)}
	case pb.Gauge != nil:
		out.Gauge = &dto.Gauge{Value: proto.Float64(0)}
	case pb.Histogram != nil:
		h := &dto.Histogram{SampleCount: proto.Uint64(0), SampleSum: proto.Float64(0)}
		for _, b := range pb.Histogram.GetBucket() {
			h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: proto.Float64(b.GetUpperBound()), CumulativeCount: proto.Uint64(0)})
		}
		out.Histogram = h
	case pb.Summary != nil:
		out.Summary = &dto.Summary{SampleCount: proto.Uint64(0), SampleSum: proto.Float64(0)}
	default:
		out.Untyped = &dto.Untyped{Value: proto.Float64(0)}
	}
	return out
}

// addValues adds src's values into dst (same type, same buckets).
func addValues(dst, src *dto.Metric) {
	switch {
	case dst.Counter != nil:
		dst.Counter.Value = proto.Float64(dst.Counter.GetValue() + src.GetCounter().GetValue())
	case dst.Gauge != nil:
		dst.Gauge.Value = proto.Float64(dst.Gauge.GetValue() + src.GetGauge().GetValue())
	case dst.Histogram != nil:
		h := src.GetHistogram()
		dst.Histogram.SampleCount = proto.Uint64(dst.Histogram.GetSampleCount() + h.GetSampleCount())
		dst.Histogram.SampleSum = proto.Float64(dst.Histogram.GetSampleSum() + h.GetSampleSum())
		for i, b := range dst.Histogram.Bucket {
			if i < len(h.GetBucket()) && h.Bucket[i].GetUpperBound() == b.GetUpperBound() {
				b.CumulativeCount = proto.Uint64(b.GetCumulativeCount() + h.Bucket[i].GetCumulativeCount())
			}
		}
	case dst.Summary != nil:
		s := src.GetSummary()
		dst.Summary.SampleCount = proto.Uint64(dst.Summary.GetSampleCount() + s.GetSampleCount())
		dst.Summary.SampleSum = proto.Float64(dst.Summary.GetSampleSum() + s.GetSampleSum())
	case dst.Untyped != nil:
		dst.Untyped.Value = proto.Float64(dst.Untyped.GetValue() + src.GetUntyped().GetValue())
	}
}

func labelMap(pb *dto.Metric) prometheus.Labels {
	labels := make(prometheus.Labels, len(pb.GetLabel()))
	for _, lp := range pb.GetLabel() {
		labels[lp.GetName()] = lp.GetValue()
	}
	return labels
}

func seriesID(pb *dto.Metric) string {
	var b strings.Builder
	for _, lp := range pb.GetLabel() {
		b.WriteString(lp.GetValue())
		b.WriteByte(0xff)
	}
	return b.String()
}

// descName returns a Desc's fully-qualified name, which client_golang
// exposes only through Desc.String: `Desc{fqName: "name", ...}`.
func descName(desc *prometheus.Desc) string {
	s := desc.String()
	const marker = `fqName: "`
	i := strings.Index(s, marker)
	if i < 0 {
		return "unknown"
	}
	s = s[i+len(marker):]
	if j := strings.IndexByte(s, '"'); j >= 0 {
		return s[:j]
	}
	return "unknown"
}

// foldedMetric is one folded series as a prometheus.Metric.
type foldedMetric fold

func (m foldedMetric) Desc() *prometheus.Desc { return m.desc }

func (m foldedMetric) Write(out *dto.Metric) error {
	proto.Merge(out, m.pb)
	return nil
}
