package problem

import (
	"net/http"

	"google.golang.org/grpc/codes"
)

// CodeOf returns the gRPC code an HTTP answer stands for: the inverse of
// the statuses FromError and the gateway answer with, and of the HTTP
// mapping of google.rpc.Code for the rest. It is how an HTTP outcome
// enters govern's one classification of outcomes (errinfo.Code, read by
// breaker.IsFailure, spans and metrics), so that a 503 or a 504 over HTTP
// counts against a circuit breaker exactly as UNAVAILABLE or
// DEADLINE_EXCEEDED over gRPC, and a 4xx or a 501 does not:
//
//   - below 400 (2xx, 3xx, and 1xx): OK;
//   - 400, and a 4xx without a closer code: INVALID_ARGUMENT; 401
//     UNAUTHENTICATED; 403 PERMISSION_DENIED; 404 NOT_FOUND; 409 ABORTED;
//     412 and 422 FAILED_PRECONDITION; 416 OUT_OF_RANGE; 429
//     RESOURCE_EXHAUSTED; 499 (client closed request) CANCELLED;
//   - 501 UNIMPLEMENTED; 502 and 503 UNAVAILABLE; 504 DEADLINE_EXCEEDED;
//     500 and any other 5xx INTERNAL;
//   - anything else UNKNOWN.
func CodeOf(status int) codes.Code {
	switch {
	case status < 400 && status >= 100:
		return codes.OK
	case status >= 600 || status < 100:
		return codes.Unknown
	}
	switch status {
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusConflict:
		return codes.Aborted
	case http.StatusPreconditionFailed, http.StatusUnprocessableEntity:
		return codes.FailedPrecondition
	case http.StatusRequestedRangeNotSatisfiable:
		return codes.OutOfRange
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case statusClientClosedRequest:
		return codes.Canceled
	case http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	}
	if status < 500 {
		return codes.InvalidArgument
	}
	return codes.Internal
}

// statusClientClosedRequest is nginx's 499, which FromError answers a
// cancelled request with.
const statusClientClosedRequest = 499
