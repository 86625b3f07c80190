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

// Problem is the RFC 9457 body of every error the gateway answers. Members
// beyond the standard five are extensions, which the RFC allows.
type Problem struct {
	// Type is ProblemTypeBase plus the reason for a govern rejection, and
	// "about:blank" for any other error (RFC 9457 section 4.2.1: the
	// problem is what the HTTP status says).
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Reason is the stable ErrorInfo reason, the field clients switch on;
	// empty when the error carries no ErrorInfo.
	Reason string `json:"reason,omitempty"`
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

// blankProblemType is RFC 9457's type of a problem that has no semantics
// beyond its HTTP status.
const blankProblemType = "about:blank"

// errorHandler answers every error with problem+json: govern rejections
// with the status and type of the contract table, every other error (a
// backend status, a body that is not valid JSON, an unknown route) with
// grpc-gateway's code-to-status mapping and type about:blank. custom, when
// set by WithErrorHandler, answers the errors that are not govern
// rejections instead.
func errorHandler(custom runtime.ErrorHandlerFunc) runtime.ErrorHandlerFunc {
	return func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		cause := err
		var httpErr *runtime.HTTPStatusError
		if errors.As(err, &httpErr) {
			cause = httpErr.Err
		}
		info := errinfo.Info(cause)
		kind, govern := problems[info.GetReason()]
		if !govern && custom != nil {
			custom(ctx, mux, m, w, r, err)
			return
		}
		st := status.Convert(cause)
		p := Problem{
			Detail:   st.Message(),
			Reason:   info.GetReason(),
			GRPCCode: grpcCodeName(st.Code()),
			Metadata: info.GetMetadata(),
		}
		if govern {
			p.Type = ProblemTypeBase + strings.ToLower(strings.ReplaceAll(info.GetReason(), "_", "-"))
			p.Title, p.Status = kind.title, kind.status
		} else {
			p.Status = runtime.HTTPStatusFromCode(st.Code())
			if httpErr != nil {
				p.Status = httpErr.HTTPStatus
			}
			p.Type, p.Title = blankProblemType, http.StatusText(p.Status)
		}
		if route, ok := routeTemplate(ctx, nil); ok {
			p.Route = route
		} else if route, ok := routeTemplate(r.Context(), nil); ok {
			p.Route = route
		}
		h := w.Header()
		retryAfter := errinfo.RetryAfter(cause)
		if retryAfter <= 0 {
			retryAfter = kind.retryAfterDefault
		}
		if retryAfter > 0 {
			p.RetryAfterSec = retryAfterSeconds(retryAfter)
			h.Set("Retry-After", strconv.FormatInt(p.RetryAfterSec, 10))
		}
		if st.Code() == codes.Unauthenticated {
			h.Set("WWW-Authenticate", st.Message()) // as grpc-gateway's own handler does
		}
		body, merr := json.Marshal(p)
		if merr != nil { // unreachable: Problem holds only strings and ints
			http.Error(w, p.Title, p.Status)
			return
		}
		h.Del("Trailer")
		h.Del("Transfer-Encoding")
		h.Set("Content-Type", ProblemContentType)
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(p.Status)
		_, _ = w.Write(body)
	}
}

// routingErrorHandler answers the requests no route takes with
// problem+json through the mux's error handler: 404 for an unknown path,
// 405 for a known path with another method (grpc-gateway's default turns
// that into UNIMPLEMENTED, which maps to 501), 400 for a path it cannot
// parse.
func routingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	code := codes.Internal
	switch httpStatus {
	case http.StatusBadRequest:
		code = codes.InvalidArgument
	case http.StatusNotFound:
		code = codes.NotFound
	case http.StatusMethodNotAllowed:
		code = codes.Unimplemented
	}
	err := &runtime.HTTPStatusError{HTTPStatus: httpStatus, Err: status.Errorf(code, "%s %s: %s", r.Method, r.URL.Path, http.StatusText(httpStatus))}
	errorHandler(nil)(ctx, mux, m, w, r, err)
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
