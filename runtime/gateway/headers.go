package gateway

import (
	"net/textproto"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// Header and metadata names of the idempotency key. runtime/idempotency
// exports the same names (HeaderName, MetadataKey); these unexported copies
// keep the gateway (an HTTP edge) from importing the idempotency engine and
// its Redis client, and a test pins them to runtime/idempotency's values.
const (
	idempotencyHeader      = "Idempotency-Key"
	idempotencyMetadataKey = "idempotency-key"
)

// forwardedHeaders maps canonical HTTP header names to the gRPC metadata key
// they travel under. Trace headers keep their names so OpenTelemetry's B3 and
// W3C propagators find them in incoming metadata unchanged.
var forwardedHeaders = map[string]string{
	idempotencyHeader:   idempotencyMetadataKey,
	"X-B3-Traceid":      "x-b3-traceid",
	"X-B3-Spanid":       "x-b3-spanid",
	"X-B3-Parentspanid": "x-b3-parentspanid",
	"X-B3-Sampled":      "x-b3-sampled",
	"X-B3-Flags":        "x-b3-flags",
	"B3":                "b3",
	"Traceparent":       "traceparent",
	"Tracestate":        "tracestate",
}

// ForwardedHeaders returns the HTTP headers the gateway forwards to gRPC
// metadata, with the metadata key of each.
func ForwardedHeaders() map[string]string {
	out := make(map[string]string, len(forwardedHeaders))
	for k, v := range forwardedHeaders {
		out[k] = v
	}
	return out
}

// headerMatcher forwards the governance and trace headers and those of
// WithForwardedHeaders (extra, by canonical name), then defers to next
// (grpc-gateway's DefaultHeaderMatcher unless WithHeaderMatcher).
func headerMatcher(extra map[string]string, next runtime.HeaderMatcherFunc) runtime.HeaderMatcherFunc {
	return func(key string) (string, bool) {
		canonical := textproto.CanonicalMIMEHeaderKey(key)
		if md, ok := forwardedHeaders[canonical]; ok {
			return md, true
		}
		if md, ok := extra[canonical]; ok {
			return md, true
		}
		return next(key)
	}
}
