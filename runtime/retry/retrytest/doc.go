// Package retrytest serves a scripted gRPC service on loopback, for testing
// client retry behaviour against a real server: each attempt the server
// receives runs a Script that decides, from the attempt number, its metadata
// and the request, what to answer (an error, a pushback trailer, a delay).
//
// The service, govern.retrytest.Scripted, is described by hand over
// well-known types (google.protobuf.StringValue in and out), so tests need no
// generated code. It has two unary methods with the same behaviour, Get and
// Create, so a test can give them different policies (an idempotent read and
// a non-idempotent write), and a server-streaming one, Watch.
package retrytest
