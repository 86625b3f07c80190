package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the mux, not the recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func benchmarkMux(b *testing.B, mux *runtime.ServeMux) {
	b.Helper()
	// As generated handlers do: annotate the context, then answer.
	err := mux.HandlePath("GET", "/v1/orders/{id}", func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		if _, err := runtime.AnnotateContext(r.Context(), mux, r, "/order.v1.OrderService/GetOrder", runtime.WithHTTPPathPattern("/v1/orders/{id}")); err != nil {
			b.Error(err)
		}
		w.WriteHeader(http.StatusOK)
	})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/v1/orders/ord_123", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		mux.ServeHTTP(w, req)
	}
}

// BenchmarkServeMux compares a bare grpc-gateway mux with the govern mux
// recording route-template metrics: the cost of the metrics middleware.
func BenchmarkServeMux(b *testing.B) {
	b.Run("bare", func(b *testing.B) { benchmarkMux(b, runtime.NewServeMux()) })
	b.Run("govern", func(b *testing.B) {
		benchmarkMux(b, NewServeMux(WithRegisterer(prometheus.NewRegistry())))
	})
}

// BenchmarkRouteTemplateFallback is the cost of rendering a matched pattern
// when the handler did not annotate its declared template (the hot path
// takes the annotation and pays none of it).
func BenchmarkRouteTemplateFallback(b *testing.B) {
	mux := runtime.NewServeMux()
	var ctx context.Context
	_ = mux.HandlePath("GET", "/v1/shops/{shop}/orders/{id}", func(_ http.ResponseWriter, r *http.Request, _ map[string]string) {
		ctx = r.Context()
	})
	mux.ServeHTTP(&discardWriter{h: http.Header{}}, httptest.NewRequest("GET", "/v1/shops/1/orders/2", nil))
	m := newHTTPMetrics(nil, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := routeTemplate(ctx, &m.templates); !ok {
			b.Fatal("no template")
		}
	}
}
