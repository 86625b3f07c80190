package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/errinfo"
)

// ProblemContentType is the media type of RFC 9457 problem details.
const ProblemContentType = "application/problem+json"

// ProblemTypeBase prefixes the problem "type" URI of every govern rejection;
// the rest is the reason in kebab case
// ("https://govern.dev/problems/rate-limited").
const ProblemTypeBase = "https://" + errinfo.Domain + "/problems/"

// problemKind is how one govern reason is answered over HTTP.
type problemKind struct {
	status int
	title  string
	// retryAfterDefault is sent as Retry-After when the status carries no
	// RetryInfo; zero sends none.
	retryAfterDefault time.Duration
}

// problems is the contract table of DESIGN.md section 5.
var problems = map[string]problemKind{
	errinfo.IdempotencyKeyMissing:       {status: http.StatusBadRequest, title: "Idempotency-Key header required"},
	errinfo.IdempotencyKeyInvalid:       {status: http.StatusBadRequest, title: "Idempotency-Key header invalid"},
	errinfo.IdempotencyInFlight:         {status: http.StatusConflict, title: "A request with this Idempotency-Key is still being processed", retryAfterDefault: time.Second},
	errinfo.IdempotencyKeyReused:        {status: http.StatusUnprocessableEntity, title: "Idempotency-Key reused with a different request"},
	errinfo.RateLimited:                 {status: http.StatusTooManyRequests, title: "Rate limit exceeded", retryAfterDefault: time.Second},
	errinfo.CircuitOpen:                 {status: http.StatusServiceUnavailable, title: "Circuit breaker open"},
	errinfo.IdempotencyStoreUnavailable: {status: http.StatusServiceUnavailable, title: "Idempotency store unavailable"},
}

// HTTPStatus returns the HTTP status the gateway answers a govern rejection
// reason with, and false for reasons outside the contract (those keep
// grpc-gateway's code-based mapping).
func HTTPStatus(reason string) (int, bool) {
	p, ok := problems[reason]
	return p.status, ok
}

// Problem is the RFC 9457 body of a govern rejection. Members beyond the
// standard five are extensions, which the RFC allows.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Reason is the stable ErrorInfo reason, the field clients switch on.
	Reason string `json:"reason"`
	// GRPCCode is the canonical name of the gRPC status code behind the
	// answer ("RESOURCE_EXHAUSTED").
	GRPCCode string `json:"grpc_code"`
	// Route is the matched route template, when known.
	Route string `json:"route,omitempty"`
	// RetryAfterSec repeats the Retry-After header.
	RetryAfterSec int64 `json:"retry_after_sec,omitempty"`
	// Metadata is the ErrorInfo metadata (for example the limit that hit).
	Metadata map[string]string `json:"metadata,omitempty"`
}

// errorHandler answers govern rejections with problem+json and hands every
// other error to fallback (grpc-gateway's DefaultHTTPErrorHandler unless
// WithErrorHandler).
func errorHandler(fallback runtime.ErrorHandlerFunc) runtime.ErrorHandlerFunc {
	return func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		cause := err
		var httpErr *runtime.HTTPStatusError
		if errors.As(err, &httpErr) {
			cause = httpErr.Err
		}
		info := errinfo.Info(cause)
		if info == nil {
			fallback(ctx, mux, m, w, r, err)
			return
		}
		kind, ok := problems[info.GetReason()]
		if !ok {
			fallback(ctx, mux, m, w, r, err)
			return
		}
		st := status.Convert(cause)
		p := Problem{
			Type:     ProblemTypeBase + strings.ToLower(strings.ReplaceAll(info.GetReason(), "_", "-")),
			Title:    kind.title,
			Status:   kind.status,
			Detail:   st.Message(),
			Reason:   info.GetReason(),
			GRPCCode: grpcCodeName(st.Code()),
			Metadata: info.GetMetadata(),
		}
		if route, ok := routeTemplate(ctx, nil); ok {
			p.Route = route
		} else if route, ok := routeTemplate(r.Context(), nil); ok {
			p.Route = route
		}
		retryAfter := errinfo.RetryAfter(cause)
		if retryAfter <= 0 {
			retryAfter = kind.retryAfterDefault
		}
		h := w.Header()
		if retryAfter > 0 {
			p.RetryAfterSec = retryAfterSeconds(retryAfter)
			h.Set("Retry-After", strconv.FormatInt(p.RetryAfterSec, 10))
		}
		body, merr := json.Marshal(p)
		if merr != nil { // unreachable: Problem holds only strings and ints
			fallback(ctx, mux, m, w, r, err)
			return
		}
		h.Del("Trailer")
		h.Del("Transfer-Encoding")
		h.Set("Content-Type", ProblemContentType)
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(kind.status)
		_, _ = w.Write(body)
	}
}

// retryAfterSeconds rounds up: Retry-After has whole seconds, and telling a
// client to come back before the limiter refills only earns another 429.
func retryAfterSeconds(d time.Duration) int64 {
	return max(1, int64(math.Ceil(d.Seconds())))
}

// grpcCodeName returns the canonical google.rpc.Code name of c.
func grpcCodeName(c codes.Code) string {
	if name, ok := rpccode.Code_name[int32(c)]; ok {
		return name
	}
	return c.String()
}
