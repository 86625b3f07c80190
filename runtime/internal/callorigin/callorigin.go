// Package callorigin marks the context of a gRPC call that the HTTP gateway
// forwards on behalf of an HTTP caller.
//
// The mark exists for one rule of the idempotency contract: a call the
// gateway forwards carries its HTTP caller's Idempotency-Key or none, and no
// client interceptor may invent one. A key minted on the gateway's own
// connection would satisfy idempotency.required for a caller that sent
// nothing, so every retried POST would create a new row. runtime/gateway
// marks the request context of every handler it mounts; runtime/idempotency's
// client interceptor, which mints keys for ordinary gRPC clients, leaves a
// marked call alone.
//
// It is internal because the mark is a protocol between those two packages,
// not an API: a service wires its gateway with
// governance.Governor.GatewayDialOptions and never touches the mark.
package callorigin

import "context"

// gatewayKey is the context key of the mark; its zero size makes the mark
// free to store.
type gatewayKey struct{}

// WithGateway returns ctx marked as the context of a call forwarded by the
// HTTP gateway.
func WithGateway(ctx context.Context) context.Context {
	return context.WithValue(ctx, gatewayKey{}, true)
}

// FromGateway reports whether ctx, or a context it was derived from, was
// marked by WithGateway.
func FromGateway(ctx context.Context) bool {
	v, _ := ctx.Value(gatewayKey{}).(bool)
	return v
}
