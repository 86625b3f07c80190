package problem

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
	"github.com/govkit/govern/runtime/errinfo"
)

func TestCodeOf(t *testing.T) {
	for _, c := range []struct {
		status int
		want   codes.Code
	}{
		{200, codes.OK}, {201, codes.OK}, {204, codes.OK}, {304, codes.OK}, {101, codes.OK},
		{400, codes.InvalidArgument}, {401, codes.Unauthenticated}, {403, codes.PermissionDenied},
		{404, codes.NotFound}, {405, codes.InvalidArgument}, {408, codes.InvalidArgument}, {409, codes.Aborted},
		{412, codes.FailedPrecondition}, {413, codes.InvalidArgument}, {416, codes.OutOfRange},
		{422, codes.FailedPrecondition}, {429, codes.ResourceExhausted}, {499, codes.Canceled},
		{500, codes.Internal}, {501, codes.Unimplemented}, {502, codes.Unavailable}, {503, codes.Unavailable},
		{504, codes.DeadlineExceeded}, {505, codes.Internal}, {599, codes.Internal},
		{0, codes.Unknown}, {99, codes.Unknown}, {600, codes.Unknown},
	} {
		if got := CodeOf(c.status); got != c.want {
			t.Errorf("CodeOf(%d) = %v, want %v", c.status, got, c.want)
		}
	}
}

// TestCodeOfInvertsFromError: every answer FromError gives maps back to
// the code of the error it answered, so that an HTTP rejection and its
// gRPC status classify alike.
func TestCodeOfInvertsFromError(t *testing.T) {
	errs := []error{
		errinfo.Error(codes.InvalidArgument, errinfo.IdempotencyKeyMissing, "m", 0, nil),
		errinfo.Error(codes.InvalidArgument, errinfo.IdempotencyKeyInvalid, "m", 0, nil),
		errinfo.Error(codes.Aborted, errinfo.IdempotencyInFlight, "m", time.Second, nil),
		errinfo.Error(codes.FailedPrecondition, errinfo.IdempotencyKeyReused, "m", 0, nil),
		errinfo.Error(codes.Unavailable, errinfo.IdempotencyStoreUnavailable, "m", 0, nil),
		errinfo.Error(codes.ResourceExhausted, errinfo.RateLimited, "m", time.Second, nil),
		errinfo.Error(codes.Unavailable, errinfo.CircuitOpen, "m", time.Second, nil),
		status.Error(codes.Unimplemented, "m"),
		status.Error(codes.DeadlineExceeded, "m"),
		fmt.Errorf("wrapped: %w", context.DeadlineExceeded),
		context.Canceled,
		status.Error(codes.Internal, "m"),
	}
	for _, err := range errs {
		p, _ := FromError(err, "/r")
		if got, want := CodeOf(p.Status), errinfo.Code(err); got != want {
			t.Errorf("%v answered %d, which maps back to %v, want %v", err, p.Status, got, want)
		}
	}
	if CodeOf(http.StatusOK) != codes.OK {
		t.Error("200 is not OK")
	}
}
