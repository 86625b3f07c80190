// Package problem writes govern's rejections as RFC 9457 problem details
// (application/problem+json) over HTTP: the status code contract of the
// design (400 key missing or invalid, 409 in flight, 422 key reused, 429
// rate limited, 503 circuit open or store unavailable, 504 deadline) with a
// Retry-After header where a retry can succeed.
//
// It is its own package, free of grpc-gateway, so an HTTP-first service
// (runtime/httpgovern) answers exactly as the gateway of a proto-first one
// without linking the gateway.
package problem
