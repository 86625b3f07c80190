package errinfo

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func TestRoundTrip(t *testing.T) {
	err := Error(codes.ResourceExhausted, RateLimited, "rate limit of /s.S/M exceeded", 1500*time.Millisecond, map[string]string{"method": "/s.S/M"})
	if got := status.Code(err); got != codes.ResourceExhausted {
		t.Fatalf("code = %v", got)
	}
	if !Is(err, RateLimited) || Is(err, CircuitOpen) {
		t.Errorf("Reason = %q", Reason(err))
	}
	if got := RetryAfter(err); got != 1500*time.Millisecond {
		t.Errorf("RetryAfter = %v", got)
	}
	if Info(err).GetMetadata()["method"] != "/s.S/M" {
		t.Errorf("metadata lost: %v", Info(err))
	}
	if RetryAfter(Error(codes.Aborted, IdempotencyInFlight, "x", 0, nil)) != 0 {
		t.Error("RetryInfo attached without a delay")
	}
}

func TestForeignErrorsHaveNoReason(t *testing.T) {
	for _, err := range []error{nil, errors.New("plain"), status.Error(codes.Internal, "boom")} {
		if Reason(err) != "" || Is(err, RateLimited) || RetryAfter(err) != 0 {
			t.Errorf("%v treated as a govern rejection", err)
		}
	}
}

func TestCode(t *testing.T) {
	tests := []struct {
		err  error
		want codes.Code
	}{
		{nil, codes.OK},
		{status.Error(codes.NotFound, "x"), codes.NotFound},
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{context.Canceled, codes.Canceled},
		{fmt.Errorf("wrapped: %w", context.Canceled), codes.Canceled},
		{status.FromContextError(context.Canceled).Err(), codes.Canceled},
		{errors.New("plain"), codes.Unknown},
	}
	for _, tt := range tests {
		if got := Code(tt.err); got != tt.want {
			t.Errorf("Code(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
