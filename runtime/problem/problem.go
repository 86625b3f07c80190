package problem

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/errinfo"
)

// ContentType is the media type of RFC 9457 problem details.
const ContentType = "application/problem+json"

// TypeBase prefixes the problem "type" URI of every govern rejection; the
// rest is the reason in kebab case ("https://govern.dev/problems/rate-limited").
const TypeBase = "https://" + errinfo.Domain + "/problems/"

// kind is how one govern reason is answered over HTTP.
type kind struct {
	status int
	title  string
	// retryAfterDefault is sent as Retry-After when the error carries no
	// RetryInfo; zero sends none.
	retryAfterDefault time.Duration
}

// kinds is the contract table of the design's section 5.
var kinds = map[string]kind{
	errinfo.IdempotencyKeyMissing:       {status: http.StatusBadRequest, title: "Idempotency-Key header required"},
	errinfo.IdempotencyKeyInvalid:       {status: http.StatusBadRequest, title: "Idempotency-Key header invalid"},
	errinfo.IdempotencyInFlight:         {status: http.StatusConflict, title: "A request with this Idempotency-Key is still being processed", retryAfterDefault: time.Second},
	errinfo.IdempotencyKeyReused:        {status: http.StatusUnprocessableEntity, title: "Idempotency-Key reused with a different request"},
	errinfo.RateLimited:                 {status: http.StatusTooManyRequests, title: "Rate limit exceeded", retryAfterDefault: time.Second},
	errinfo.CircuitOpen:                 {status: http.StatusServiceUnavailable, title: "Circuit breaker open"},
	errinfo.IdempotencyStoreUnavailable: {status: http.StatusServiceUnavailable, title: "Idempotency store unavailable"},
}

// HTTPStatus returns the status a govern rejection reason is answered
// with, and false for reasons outside the contract.
func HTTPStatus(reason string) (int, bool) {
	k, ok := kinds[reason]
	return k.status, ok
}

// Problem is the RFC 9457 body of a govern rejection. Members beyond the
// standard five are extensions, which the RFC allows.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Reason is the stable ErrorInfo reason, the field clients switch on.
	Reason string `json:"reason,omitempty"`
	// GRPCCode is the canonical name of the gRPC status code behind the
	// answer ("RESOURCE_EXHAUSTED").
	GRPCCode string `json:"grpc_code,omitempty"`
	// Route is the matched route template, when known.
	Route string `json:"route,omitempty"`
	// RetryAfterSec repeats the Retry-After header.
	RetryAfterSec int64 `json:"retry_after_sec,omitempty"`
	// Metadata is the ErrorInfo metadata (for example the limit that hit).
	Metadata map[string]string `json:"metadata,omitempty"`
}

// FromError builds the problem answering err: a govern rejection by its
// reason, a deadline (context or DEADLINE_EXCEEDED) as 504, a cancelled
// request as 499 (the client closed it), UNIMPLEMENTED as 501, anything
// else as 500 without detail (internal errors are logged, not shown).
func FromError(err error, route string) (Problem, time.Duration) {
	if info := errinfo.Info(err); info != nil {
		if k, ok := kinds[info.GetReason()]; ok {
			st := status.Convert(err)
			retryAfter := errinfo.RetryAfter(err)
			if retryAfter <= 0 {
				retryAfter = k.retryAfterDefault
			}
			return Problem{
				Type:     TypeBase + strings.ToLower(strings.ReplaceAll(info.GetReason(), "_", "-")),
				Title:    k.title,
				Status:   k.status,
				Detail:   st.Message(),
				Reason:   info.GetReason(),
				GRPCCode: codeName(st.Code()),
				Route:    route,
				Metadata: info.GetMetadata(),
			}, retryAfter
		}
	}
	code := status.Code(err)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	}
	switch code {
	case codes.Unimplemented:
		return Problem{Type: TypeBase + "unimplemented", Title: "Not implemented", Status: http.StatusNotImplemented, GRPCCode: codeName(codes.Unimplemented), Route: route,
			Detail: status.Convert(err).Message()}, 0
	case codes.DeadlineExceeded:
		return Problem{Type: TypeBase + "deadline-exceeded", Title: "Deadline exceeded", Status: http.StatusGatewayTimeout, GRPCCode: codeName(codes.DeadlineExceeded), Route: route,
			Detail: "the request ran past its deadline (the operation's timeout or the caller's)"}, 0
	case codes.Canceled:
		return Problem{Type: TypeBase + "canceled", Title: "Request canceled", Status: statusClientClosedRequest, GRPCCode: codeName(codes.Canceled), Route: route}, 0
	}
	return Problem{Type: "about:blank", Title: http.StatusText(http.StatusInternalServerError), Status: http.StatusInternalServerError, Route: route}, 0
}

// Write answers err as problem+json with Retry-After where it applies.
func Write(w http.ResponseWriter, err error, route string) {
	p, retryAfter := FromError(err, route)
	WriteProblem(w, p, retryAfter)
}

// WriteProblem writes p, and Retry-After when retryAfter > 0.
func WriteProblem(w http.ResponseWriter, p Problem, retryAfter time.Duration) {
	h := w.Header()
	if retryAfter > 0 {
		p.RetryAfterSec = RetryAfterSeconds(retryAfter)
		h.Set("Retry-After", strconv.FormatInt(p.RetryAfterSec, 10))
	}
	body, _ := json.Marshal(p) // strings, ints and a string map: always encodes
	h.Del("Trailer")
	h.Del("Transfer-Encoding")
	h.Del("Content-Length")
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// RetryAfterSeconds rounds up: Retry-After has whole seconds, and telling a
// client to come back before the limiter refills only earns another 429.
func RetryAfterSeconds(d time.Duration) int64 {
	return max(1, int64(math.Ceil(d.Seconds())))
}

func codeName(c codes.Code) string {
	if name, ok := rpccode.Code_name[int32(c)]; ok {
		return name
	}
	return c.String()
}
