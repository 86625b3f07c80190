package errinfo

import (
	"context"
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Domain is the ErrorInfo domain of every govern rejection.
const Domain = "govern.dev"

// Stable rejection reasons.
const (
	// IdempotencyKeyMissing: the method requires a key and the call had none
	// (INVALID_ARGUMENT, HTTP 400).
	IdempotencyKeyMissing = "IDEMPOTENCY_KEY_MISSING"
	// IdempotencyKeyInvalid: the key sent is too long or has characters
	// outside the allowed set (INVALID_ARGUMENT, HTTP 400).
	IdempotencyKeyInvalid = "IDEMPOTENCY_KEY_INVALID"
	// IdempotencyInFlight: a call with the same key is still running
	// (ABORTED, HTTP 409); retry after the RetryInfo delay.
	IdempotencyInFlight = "IDEMPOTENCY_IN_FLIGHT"
	// IdempotencyKeyReused: the key was used with a different request body
	// (FAILED_PRECONDITION, HTTP 422).
	IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	// IdempotencyStoreUnavailable: the idempotency store could not be reached
	// and the method fails closed (UNAVAILABLE, HTTP 503).
	IdempotencyStoreUnavailable = "IDEMPOTENCY_STORE_UNAVAILABLE"
	// RateLimited: the method's rate limit rejected the call
	// (RESOURCE_EXHAUSTED, HTTP 429).
	RateLimited = "RATE_LIMITED"
	// CircuitOpen: the method's circuit breaker is open (UNAVAILABLE, HTTP 503).
	CircuitOpen = "CIRCUIT_OPEN"
)

// New returns a status with code and message that carries an ErrorInfo with
// reason and metadata, and a RetryInfo when retryAfter > 0.
func New(code codes.Code, reason, msg string, retryAfter time.Duration, metadata map[string]string) *status.Status {
	st := status.New(code, msg)
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: metadata}}
	if retryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)})
	}
	// WithDetails fails only for code OK, which a rejection never has.
	if withDetails, err := st.WithDetails(details...); err == nil {
		st = withDetails
	}
	return st
}

// Error is New(...).Err().
func Error(code codes.Code, reason, msg string, retryAfter time.Duration, metadata map[string]string) error {
	return New(code, reason, msg, retryAfter, metadata).Err()
}

// Reason returns the govern ErrorInfo reason carried by err, or "" when err
// is not a govern rejection.
func Reason(err error) string {
	if info := Info(err); info != nil {
		return info.GetReason()
	}
	return ""
}

// Info returns the govern ErrorInfo carried by err, or nil.
func Info(err error) *errdetails.ErrorInfo {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == Domain {
			return info
		}
	}
	return nil
}

// RetryAfter returns the RetryInfo delay carried by err, or 0.
func RetryAfter(err error) time.Duration {
	st, ok := status.FromError(err)
	if !ok {
		return 0
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

// Is reports whether err is a govern rejection with the given reason.
func Is(err error, reason string) bool {
	return err != nil && Reason(err) == reason
}

// Code is the gRPC code err becomes on the wire: its status code,
// DEADLINE_EXCEEDED or CANCELLED for context errors (wrapped or not, as
// grpc-go maps them), UNKNOWN for any other error and OK for nil. It is the
// one classification of handler errors in govern: metrics, logs, the
// server's breaker (breaker.IsFailure) and HTTP status mapping all read it.
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	}
	return codes.Unknown
}
