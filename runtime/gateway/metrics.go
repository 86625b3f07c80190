package gateway

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/metadata"

	"github.com/govkit/govern/runtime/internal/callorigin"
	"github.com/govkit/govern/runtime/metrics"
)

// Metric names.
const (
	// MetricRequestDuration is the histogram of gateway requests that
	// matched a route, labelled route (template), method and code.
	MetricRequestDuration = "http_request_duration_seconds"
	// MetricUnmatched counts requests that matched no route (404/405),
	// labelled method and code only: there is no template to name them by.
	MetricUnmatched = "http_requests_unmatched_total"
)

// httpMetrics are the gateway's collectors.
type httpMetrics struct {
	duration  *prometheus.HistogramVec
	unmatched *prometheus.CounterVec
	// templates memoises the rendering of compiled patterns (Pattern.String
	// walks op codes and formats with fmt on every call); bounded by the
	// number of registered routes.
	templates sync.Map // string -> string
}

func newHTTPMetrics(reg prometheus.Registerer, buckets []float64) *httpMetrics {
	m := &httpMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricRequestDuration,
			Help:    "Duration of HTTP requests served by the grpc-gateway, by route template, method and status code.",
			Buckets: buckets,
		}, []string{"route", "method", "code"}),
		unmatched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricUnmatched,
			Help: "HTTP requests to the grpc-gateway that matched no route, by method and status code.",
		}, []string{"method", "code"}),
	}
	if reg != nil {
		m.duration = registerOrReuse(reg, m.duration)
		m.unmatched = registerOrReuse(reg, m.unmatched)
	}
	return m
}

// registerOrReuse registers c, or returns the identical collector already
// registered (two gateway muxes on one registry share their series). Any
// other registration error is a programming error (a name clash with a
// different metric) and panics, as prometheus.MustRegister does.
func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	c, err := metrics.RegisterOrReuse(reg, c)
	if err != nil {
		panic("gateway: registering HTTP metrics: " + err.Error())
	}
	return c
}

// routeHolderKey is the context key of the request's *statusRecorder, which
// also receives the declared route template from the generated handler
// (through captureTemplate).
type routeHolderKey struct{}

// middleware times every matched request under its route template.
func (m *httpMetrics) middleware(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		// One request copy for both context values: the route holder and
		// the forwarded-call mark of markForwarded, which this middleware
		// replaces on a metered mux.
		r = r.WithContext(callorigin.WithGateway(context.WithValue(r.Context(), routeHolderKey{}, rec)))
		next(rec, r, params)
		route := rec.template
		if route == "" {
			// The handler failed before annotating its context (or is not
			// generated code): print the matched pattern instead.
			var ok bool
			if route, ok = routeTemplate(r.Context(), &m.templates); !ok {
				route = "unknown"
			}
		}
		m.duration.WithLabelValues(route, methodLabel(r.Method), codeLabel(rec.code())).Observe(time.Since(start).Seconds())
	}
}

// captureTemplate is a metadata annotator: generated handlers run it inside
// runtime.AnnotateContext, whose context carries the route template as
// declared in the proto. Handing it to the middleware's holder saves
// rendering the compiled pattern (a dozen allocations) on every request.
// It adds no metadata.
func captureTemplate(ctx context.Context, r *http.Request) metadata.MD {
	if holder, ok := r.Context().Value(routeHolderKey{}).(*statusRecorder); ok {
		if template, ok := runtime.HTTPPathPattern(ctx); ok {
			holder.template = template
		}
	}
	return nil
}

// routingErrorHandler counts unmatched requests and answers them with next.
func (m *httpMetrics) routingErrorHandler(next runtime.RoutingErrorHandlerFunc) runtime.RoutingErrorHandlerFunc {
	return func(ctx context.Context, mux *runtime.ServeMux, ma runtime.Marshaler, w http.ResponseWriter, r *http.Request, code int) {
		m.unmatched.WithLabelValues(methodLabel(r.Method), codeLabel(code)).Inc()
		next(ctx, mux, ma, w, r, code)
	}
}

// methodLabel bounds the method label to the standard methods: a request
// line can carry any token as its method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// codeLabel spells a status code without allocating for the common ones.
func codeLabel(code int) string {
	switch code {
	case http.StatusOK:
		return "200"
	case http.StatusBadRequest:
		return "400"
	case http.StatusNotFound:
		return "404"
	case http.StatusConflict:
		return "409"
	case http.StatusUnprocessableEntity:
		return "422"
	case http.StatusTooManyRequests:
		return "429"
	case http.StatusInternalServerError:
		return "500"
	case http.StatusServiceUnavailable:
		return "503"
	case http.StatusGatewayTimeout:
		return "504"
	}
	return strconv.Itoa(code)
}

// singleSegmentCapture matches "{name=*}", which grpc-gateway prints for a
// template declared as "{name}".
var singleSegmentCapture = regexp.MustCompile(`\{([^{}=]+)=\*\}`)

// routeTemplate returns the route template of the request: the declared
// pattern the generated handler annotated the context with, else the
// pattern the mux matched, printed in declaration form. cache may be nil.
func routeTemplate(ctx context.Context, cache *sync.Map) (string, bool) {
	if p, ok := runtime.HTTPPathPattern(ctx); ok {
		return p, true
	}
	pat, ok := runtime.HTTPPattern(ctx)
	if !ok {
		return "", false
	}
	raw := pat.String()
	if cache == nil {
		return singleSegmentCapture.ReplaceAllString(raw, "{$1}"), true
	}
	if t, ok := cache.Load(raw); ok {
		return t.(string), true
	}
	t := singleSegmentCapture.ReplaceAllString(raw, "{$1}")
	cache.Store(raw, t)
	return t, true
}

// statusRecorder remembers the status code written through it, and the
// route template captureTemplate hands over.
type statusRecorder struct {
	http.ResponseWriter
	status   int
	template string
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush keeps server-streaming responses streaming through the recorder.
func (s *statusRecorder) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}
