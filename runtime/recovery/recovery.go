package recovery

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error turns a value recovered from a panic in method into the INTERNAL
// status returned to the caller, and logs the panic value and the stack at
// Error level. The caller sees no panic details: they may hold data it
// should not read. Call it from a deferred function right after recover(),
// so the stack still shows the panicking frame.
func Error(ctx context.Context, logger *slog.Logger, method string, recovered any) error {
	if logger != nil {
		logger.LogAttrs(ctx, slog.LevelError, "recovered from panic in handler",
			slog.String("method", method),
			slog.String("panic", fmt.Sprint(recovered)),
			slog.String("stack", string(debug.Stack())))
	}
	return status.Error(codes.Internal, "internal error: the server recovered from a panic while handling "+method+"; see the server log")
}

// UnaryServerInterceptor recovers panics of unary handlers with Error.
// runtime/governance puts the same recovery first in its chain; use this
// one for servers that are not governed.
func UnaryServerInterceptor(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				resp, err = nil, Error(ctx, logger, info.FullMethod, r)
			}
		}()
		return handler(ctx, req)
	}
}

// StreamServerInterceptor recovers panics of stream handlers with Error.
func StreamServerInterceptor(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = Error(ss.Context(), logger, info.FullMethod, r)
			}
		}()
		return handler(srv, ss)
	}
}
