// Package testpb holds govern's shared test API, testv1/test.proto
// (package govern.test.v1), and its generated code: protoc-gen-go,
// protoc-gen-go-grpc, protoc-gen-grpc-gateway and protoc-gen-govern output,
// produced by the real protoc through `go generate ./internal/testpb/`.
//
// It exists so that every runtime package tests against tables, routes and
// stubs generated exactly as a user's would be, rather than hand-written
// fixtures that could drift from what the plugin emits. OrderService covers
// each governance feature once (keyed idempotency, reads, tiers, rate limit,
// circuit breaker, timeout, adaptive retry, streaming, a disabled method, an
// Echo method that can sleep, fail or panic on request) and
// InventoryService adds a second table and a distributed rate limit.
//
// The API only grows: methods, fields and services are added, never renamed.
package testpb
