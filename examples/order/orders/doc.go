// Package orders is the business logic of the example order service: an
// in-memory order book behind the generated OrderServiceServer interface.
//
// It knows nothing about governance. Idempotency, rate limits, deadlines and
// the breaker are applied around it by runtime/governance from the policy
// declared in order.proto; the only duplicate protection here is the domain
// rule that a client's order number is unique, which is the last line of
// defence, not the mechanism (a retried CreateOrder is answered by the
// idempotency layer with the first call's response, never reaches this code,
// and never sees ALREADY_EXISTS).
package orders
