// Package recovery keeps a server alive when a handler panics: the panic is
// recovered, logged with its stack, and the call fails with INTERNAL, while
// the process and every other call carry on. grpc-go does not recover
// handler panics itself, so without this one nil-pointer bug in one method
// takes down every in-flight call of the replica.
//
// runtime/governance runs the same recovery as the outermost step of its
// chain, so panics in the other governance steps are caught too.
package recovery
