package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/policy"
)

// Label names, shared with go-grpc-middleware's prometheus provider so that
// existing dashboards keep working, plus govern's tier.
const (
	LabelType    = "grpc_type"
	LabelService = "grpc_service"
	LabelMethod  = "grpc_method"
	LabelCode    = "grpc_code"
	LabelTier    = "tier"
)

// Metric names.
const (
	StartedTotal         = "grpc_server_started_total"
	HandledTotal         = "grpc_server_handled_total"
	HandlingSeconds      = "grpc_server_handling_seconds"
	MsgReceivedTotal     = "grpc_server_msg_received_total"
	MsgSentTotal         = "grpc_server_msg_sent_total"
	RateLimitRejected    = "govern_ratelimit_rejected_total"
	BreakerState         = "govern_breaker_state"
	codeCount            = int(codes.Unauthenticated) + 1
	defaultHistogramHelp = "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server."
)

// ServerMetrics holds the server-side collectors of a governor. Register it
// on a prometheus.Registerer (it is a prometheus.Collector), then take each
// governed method's series with Method.
type ServerMetrics struct {
	started      *prometheus.CounterVec
	handled      *prometheus.CounterVec
	handling     *prometheus.HistogramVec
	msgReceived  *prometheus.CounterVec
	msgSent      *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
	breakerState *prometheus.GaugeVec
	// noCalls: WithoutCallSeries.
	noCalls bool
}

var _ prometheus.Collector = (*ServerMetrics)(nil)

type config struct {
	buckets []float64
	noCalls bool
}

// Option configures ServerMetrics.
type Option func(*config)

// WithHistogramBuckets replaces prometheus.DefBuckets as the buckets of
// grpc_server_handling_seconds.
func WithHistogramBuckets(buckets []float64) Option {
	return func(c *config) { c.buckets = buckets }
}

// WithoutCallSeries leaves out the gRPC call series (grpc_server_started_total,
// _handled_total, _handling_seconds, _msg_received_total, _msg_sent_total)
// of every method: Method creates only the rate-limit and breaker series,
// and a MethodSeries counts no calls. It is for a governor that only
// admits calls served over something else, such as the one
// runtime/httpgovern builds for HTTP operations, whose requests
// http_request_duration_seconds counts: gRPC series at zero would tell
// dashboards and alerts of a gRPC method that is never called.
func WithoutCallSeries() Option {
	return func(c *config) { c.noCalls = true }
}

// NewServerMetrics builds the collectors. Nothing is registered: pass the
// result to a Registerer's Register (runtime/governance does, on a registerer
// wrapped with the service/env/region const labels).
func NewServerMetrics(opts ...Option) *ServerMetrics {
	c := config{buckets: prometheus.DefBuckets}
	for _, o := range opts {
		o(&c)
	}
	base := []string{LabelType, LabelService, LabelMethod, LabelTier}
	return &ServerMetrics{
		noCalls: c.noCalls,
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: StartedTotal, Help: "Total number of RPCs started on the server.",
		}, base),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: HandledTotal, Help: "Total number of RPCs completed on the server, regardless of success or failure.",
		}, append(base[:len(base):len(base)], LabelCode)),
		handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: HandlingSeconds, Help: defaultHistogramHelp, Buckets: c.buckets,
		}, base),
		msgReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MsgReceivedTotal, Help: "Total number of RPC stream messages received on the server.",
		}, base),
		msgSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MsgSentTotal, Help: "Total number of gRPC stream messages sent by the server.",
		}, base),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RateLimitRejected, Help: "Total number of calls rejected by a govern rate limit (RESOURCE_EXHAUSTED, reason RATE_LIMITED).",
		}, []string{LabelService, LabelMethod, LabelTier, "scope"}),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: BreakerState, Help: "State of a govern circuit breaker: 0 closed, 1 half-open, 2 open.",
		}, []string{LabelService, LabelMethod, LabelTier}),
	}
}

// Describe implements prometheus.Collector.
func (m *ServerMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.started.Describe(ch)
	m.handled.Describe(ch)
	m.handling.Describe(ch)
	m.msgReceived.Describe(ch)
	m.msgSent.Describe(ch)
	m.rateLimited.Describe(ch)
	m.breakerState.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *ServerMetrics) Collect(ch chan<- prometheus.Metric) {
	m.started.Collect(ch)
	m.handled.Collect(ch)
	m.handling.Collect(ch)
	m.msgReceived.Collect(ch)
	m.msgSent.Collect(ch)
	m.rateLimited.Collect(ch)
	m.breakerState.Collect(ch)
}

// Type returns the grpc_type label value of a method: "unary",
// "client_stream", "server_stream" or "bidi_stream".
func Type(p *policy.Method) string {
	switch {
	case p.ClientStreaming && p.ServerStreaming:
		return "bidi_stream"
	case p.ClientStreaming:
		return "client_stream"
	case p.ServerStreaming:
		return "server_stream"
	default:
		return "unary"
	}
}

// MethodSeries are one method's series, resolved once so that recording a
// call is a few atomic operations with no label lookup and no allocation.
type MethodSeries struct {
	started     prometheus.Counter
	handled     [codeCount]prometheus.Counter
	handling    prometheus.Observer
	received    prometheus.Counter
	sent        prometheus.Counter
	rateLimited prometheus.Counter
	breaker     prometheus.Gauge
}

// Method creates p's series, every one at zero (started, message counts,
// latency, all 17 codes of
// grpc_server_handled_total, the rate-limit counter when p has a limit, the
// breaker gauge when it has a breaker), so that dashboards show 0 rather
// than nothing for methods not called yet. Label values come from the
// policy table only.
func (m *ServerMetrics) Method(p *policy.Method) *MethodSeries {
	typ, tier := Type(p), p.Tier.String()
	if m.noCalls {
		s := &MethodSeries{started: uncounted{}, handling: uncounted{}, received: uncounted{}, sent: uncounted{}}
		for c := range s.handled {
			s.handled[c] = uncounted{}
		}
		m.admissionSeries(s, p, tier)
		return s
	}
	s := &MethodSeries{
		started:  m.started.WithLabelValues(typ, p.Service, p.Name, tier),
		handling: m.handling.WithLabelValues(typ, p.Service, p.Name, tier),
		received: m.msgReceived.WithLabelValues(typ, p.Service, p.Name, tier),
		sent:     m.msgSent.WithLabelValues(typ, p.Service, p.Name, tier),
	}
	for c := range s.handled {
		s.handled[c] = m.handled.WithLabelValues(typ, p.Service, p.Name, tier, codes.Code(c).String())
	}
	m.admissionSeries(s, p, tier)
	return s
}

// admissionSeries creates p's rate-limit and breaker series in s.
func (m *ServerMetrics) admissionSeries(s *MethodSeries, p *policy.Method, tier string) {
	if p.RateLimit != nil {
		s.rateLimited = m.rateLimited.WithLabelValues(p.Service, p.Name, tier, p.RateLimit.Scope.String())
	}
	if p.CircuitBreaker != nil {
		s.breaker = m.breakerState.WithLabelValues(p.Service, p.Name, tier)
	}
}

// uncounted stands in for the call series WithoutCallSeries leaves out,
// so that recording a call costs what it always does and checks nothing.
type uncounted struct{ prometheus.Counter }

func (uncounted) Inc()            {}
func (uncounted) Add(float64)     {}
func (uncounted) Observe(float64) {}

// Started counts a call that entered the chain.
func (s *MethodSeries) Started() { s.started.Inc() }

// Handled counts a finished call with its code and observes its duration.
func (s *MethodSeries) Handled(code codes.Code, elapsed time.Duration) {
	if int(code) >= codeCount {
		code = codes.Unknown
	}
	s.handled[code].Inc()
	s.handling.Observe(elapsed.Seconds())
}

// Received counts a message received (a unary call's request counts one).
func (s *MethodSeries) Received() { s.received.Inc() }

// Sent counts a message sent (a successful unary call's response counts
// one).
func (s *MethodSeries) Sent() { s.sent.Inc() }

// RateLimited counts a call rejected by the method's rate limit.
func (s *MethodSeries) RateLimited() {
	if s.rateLimited != nil {
		s.rateLimited.Inc()
	}
}

// SetBreakerState exports the method's breaker state (0 closed, 1
// half-open, 2 open; breaker.State values).
func (s *MethodSeries) SetBreakerState(state uint32) {
	if s.breaker != nil {
		s.breaker.Set(float64(state))
	}
}
