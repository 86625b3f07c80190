// Package policy holds the resolved governance policy of gRPC methods: the
// typed tables that protoc-gen-govern generates from the govern.v1 options
// and that every other runtime package reads.
//
// Generated code builds a Table per service (OrderServicePolicy, ...) keyed by
// full method name ("/order.v1.OrderService/CreateOrder"). Every value in a
// Method is already resolved (method > service > file > tier defaults >
// built-in defaults), so the runtime never re-applies inheritance: it looks a
// method up once and reads plain fields. Durations are time.Duration and codes
// are codes.Code, so nothing is parsed on the request path.
//
// The package has no behaviour beyond lookups and small helpers; it exists so
// that the generator and the runtime share one vocabulary without either
// importing the other.
package policy
