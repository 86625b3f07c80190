package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/metrics"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/retry"
)

// Metric names. The grpc_client_* names and labels are those of
// go-grpc-middleware's prometheus provider, so existing dashboards work.
const (
	StartedTotal    = "grpc_client_started_total"
	HandledTotal    = "grpc_client_handled_total"
	HandlingSeconds = "grpc_client_handling_seconds"
	RetryAttempts   = "govern_retry_attempts_total"
)

// clientMetrics counts logical calls (not attempts: retries are counted in
// govern_retry_attempts_total) with the standard client metrics.
type clientMetrics struct {
	started  *prometheus.CounterVec
	handled  *prometheus.CounterVec
	handling *prometheus.HistogramVec
	attempts *prometheus.CounterVec

	// series caches the resolved series of each method called.
	series sync.Map // full method -> *methodSeries
	table  policy.Table
}

type methodSeries struct {
	typ, service, method string
	started              prometheus.Counter
	handling             prometheus.Observer
	// handled holds the grpc_code series of codes 0..16, resolved on first
	// use so only codes that happened are exported.
	handled [17]atomic.Pointer[prometheus.Counter]
}

func newClientMetrics(reg prometheus.Registerer, table policy.Table) (*clientMetrics, error) {
	base := []string{"grpc_type", "grpc_service", "grpc_method"}
	m := &clientMetrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: StartedTotal, Help: "Total number of RPCs started on the client.",
		}, base),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: HandledTotal, Help: "Total number of RPCs completed by the client, regardless of success or failure.",
		}, append(base[:3:3], "grpc_code")),
		handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: HandlingSeconds, Help: "Histogram of response latency (seconds) of the gRPC until it is finished by the application.",
			Buckets: prometheus.DefBuckets,
		}, base),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RetryAttempts, Help: "Attempts of calls to methods with a retry policy, by outcome: ok, retried, not_retryable, exhausted, budget_exhausted, deadline, pushback_stop, circuit_open, canceled (adaptive), stopped (native: throttled, pushback or deadline).",
		}, []string{"grpc_method", "outcome"}),
		table: table,
	}
	var err error
	m.started, err = register(reg, m.started)
	if err != nil {
		return nil, err
	}
	if m.handled, err = register(reg, m.handled); err != nil {
		return nil, err
	}
	if m.handling, err = register(reg, m.handling); err != nil {
		return nil, err
	}
	if m.attempts, err = register(reg, m.attempts); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the identical collector already
// registered (several clients may share one registry).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	c, err := metrics.RegisterOrReuse(reg, c)
	if err != nil {
		return c, fmt.Errorf("client: registering the client metrics: %w", err)
	}
	return c, nil
}

func (m *clientMetrics) seriesOf(fullMethod string, clientStream, serverStream bool) *methodSeries {
	if s, ok := m.series.Load(fullMethod); ok {
		return s.(*methodSeries)
	}
	service, method := splitMethod(fullMethod)
	typ := grpcType(clientStream, serverStream)
	s := &methodSeries{
		typ: typ, service: service, method: method,
		started:  m.started.WithLabelValues(typ, service, method),
		handling: m.handling.WithLabelValues(typ, service, method),
	}
	actual, _ := m.series.LoadOrStore(fullMethod, s)
	return actual.(*methodSeries)
}

func (m *clientMetrics) done(s *methodSeries, start time.Time, err error) {
	code := status.Code(err)
	if int(code) >= len(s.handled) {
		m.handled.WithLabelValues(s.typ, s.service, s.method, code.String()).Inc()
	} else {
		c := s.handled[code].Load()
		if c == nil {
			counter := m.handled.WithLabelValues(s.typ, s.service, s.method, code.String())
			c = &counter
			s.handled[code].Store(c)
		}
		(*c).Inc()
	}
	s.handling.Observe(time.Since(start).Seconds())
}

func (m *clientMetrics) observeAttempt(fullMethod string, o retry.Outcome) {
	m.attempts.WithLabelValues(fullMethod, string(o)).Inc()
}

func (m *clientMetrics) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	s := m.seriesOf(method, false, false)
	s.started.Inc()
	start := time.Now()
	if pol := nativeRetry(m.table.Lookup(method)); pol != nil {
		actx, attempts := withAttemptCounter(ctx)
		err := invoker(actx, method, req, reply, cc, opts...)
		m.done(s, start, err)
		m.reportNative(method, pol, int(attempts.Load()), err)
		return err
	}
	err := invoker(ctx, method, req, reply, cc, opts...)
	m.done(s, start, err)
	return err
}

func (m *clientMetrics) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s := m.seriesOf(method, desc.ClientStreams, desc.ServerStreams)
	s.started.Inc()
	start := time.Now()
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		m.done(s, start, err)
		return nil, err
	}
	return onFinish(cs, desc.ServerStreams, func(err error) { m.done(s, start, err) }), nil
}

func grpcType(clientStream, serverStream bool) string {
	switch {
	case clientStream && serverStream:
		return "bidi_stream"
	case clientStream:
		return "client_stream"
	case serverStream:
		return "server_stream"
	default:
		return "unary"
	}
}

// splitMethod splits "/pkg.Service/Method" into its service and method.
func splitMethod(fullMethod string) (service, method string) {
	s := strings.TrimPrefix(fullMethod, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "unknown", s
}

// finishingStream calls finish once, with nil for a clean end of stream,
// when the stream's final status is known: RecvMsg failed or hit io.EOF,
// Header failed, or (for a single-response stream) the response arrived.
type finishingStream struct {
	grpc.ClientStream
	serverStreams bool
	once          sync.Once
	finish        func(error)
}

func onFinish(cs grpc.ClientStream, serverStreams bool, finish func(error)) grpc.ClientStream {
	return &finishingStream{ClientStream: cs, serverStreams: serverStreams, finish: finish}
}

func (s *finishingStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case err == nil && s.serverStreams:
		return nil
	case err == nil, errors.Is(err, io.EOF):
		s.once.Do(func() { s.finish(nil) })
	default:
		s.once.Do(func() { s.finish(err) })
	}
	return err
}

func (s *finishingStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	if err != nil {
		s.once.Do(func() { s.finish(err) })
	}
	return md, err
}
