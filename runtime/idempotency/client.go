package idempotency

import (
	"context"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/internal/callorigin"
	"github.com/govkit/govern/runtime/policy"
)

// UnaryClientInterceptor attaches an idempotency key to calls of the
// methods of table that have an Idempotency policy, so that a retry is
// recognised as the same call.
//
// The interceptor runs once per logical call and gRPC's native retries
// happen below it, so every attempt of the call carries the same key. The
// key is a fresh UUIDv7 (time-ordered, so store keys written together sit
// together) unless:
//
//   - the caller already set MetadataKey on the outgoing context: theirs is
//     kept (an application that retries across logical calls, or a user
//     double-submitting a form, should send its own stable key);
//   - the method derives its key from key_fields and the request carries
//     them: the server derives the same key on every attempt, and a random
//     key would hide double submissions of the same business operation;
//   - the call is forwarded by the HTTP gateway (runtime/gateway marks its
//     context): it carries its HTTP caller's key or none, because a key
//     minted here would satisfy a required key for a caller that sent
//     nothing, and every retried POST would run again.
func UnaryClientInterceptor(table policy.Table) grpc.UnaryClientInterceptor {
	keyed := make(map[string]*policy.Idempotency)
	for name, m := range table {
		if m != nil && m.Idempotency != nil && !m.Disabled && !m.Streaming() {
			keyed[name] = m.Idempotency
		}
	}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		idem := keyed[method]
		if idem == nil {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(MetadataKey)) > 0 {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		if callorigin.FromGateway(ctx) {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		if idem.Key != nil {
			if key, ok := idem.Key(req); ok && key != "" {
				return invoker(ctx, method, req, reply, cc, opts...)
			}
		}
		id, err := uuid.NewV7()
		if err != nil {
			return status.Errorf(codes.Internal, "idempotency: generate a key for %s: %v", method, err)
		}
		return invoker(metadata.AppendToOutgoingContext(ctx, MetadataKey, id.String()), method, req, reply, cc, opts...)
	}
}
