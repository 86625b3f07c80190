// Package errinfo defines the stable rejection reasons govern attaches to the
// gRPC statuses it returns, and builds those statuses.
//
// Every rejection a caller can see (a missing idempotency key, a rate limit,
// an open breaker) is a gRPC status carrying a google.rpc.ErrorInfo with one
// of the Reason constants and the Domain "govern.dev", plus a
// google.rpc.RetryInfo when retrying later can succeed. Callers, the gateway's
// HTTP error mapping and dashboards switch on the reason, never on message
// text, so reasons are part of the public contract and never change.
package errinfo
