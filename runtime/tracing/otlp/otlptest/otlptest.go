// Package otlptest is an in-process OTLP/gRPC trace receiver for tests:
// it serves the collector's TraceService on a loopback port and keeps the
// spans it receives, so a test can point OTEL_EXPORTER_OTLP_ENDPOINT at it
// and check what a service (in process or a built binary) exported.
package otlptest

import (
	"context"
	"encoding/hex"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// Span is one received span, ids in lower-case hex as logs write them.
type Span struct {
	Service      string // resource attribute service.name
	Name         string
	TraceID      string
	SpanID       string
	ParentSpanID string // "" for a root span
}

// Receiver is a running OTLP trace receiver.
type Receiver struct {
	collectortrace.UnimplementedTraceServiceServer
	addr  string
	mu    sync.Mutex
	spans []Span
	added chan struct{}
}

// Start serves a receiver on a free loopback port until the test ends.
func Start(t testing.TB) *Receiver {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{addr: lis.Addr().String(), added: make(chan struct{}, 1)}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, r)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return r
}

// Endpoint is the value for OTEL_EXPORTER_OTLP_ENDPOINT (plaintext gRPC).
func (r *Receiver) Endpoint() string { return "http://" + r.addr }

// Export implements the collector's TraceService.
func (r *Receiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, Span{
					Service:      service,
					Name:         s.GetName(),
					TraceID:      hex.EncodeToString(s.GetTraceId()),
					SpanID:       hex.EncodeToString(s.GetSpanId()),
					ParentSpanID: hex.EncodeToString(s.GetParentSpanId()),
				})
			}
		}
	}
	r.mu.Unlock()
	select {
	case r.added <- struct{}{}:
	default:
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// Spans returns the spans received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.spans)
}

// WaitFor waits up to timeout until at least n spans arrived and returns
// what arrived (fewer when the wait ends first: the caller's check fails
// with what it got).
func (r *Receiver) WaitFor(n int, timeout time.Duration) []Span {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if spans := r.Spans(); len(spans) >= n {
			return spans
		}
		select {
		case <-r.added:
		case <-deadline.C:
			return r.Spans()
		}
	}
}
