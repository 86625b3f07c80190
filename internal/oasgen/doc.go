// Package oasgen writes the Go of an OpenAPI-first service's API package
// from its document: oapi-codegen v2's models and std net/http strict
// server (Go 1.22 ServeMux patterns), and govern.gen.go with the resolved
// policy table keyed by operationId and the routes the runtime/httpgovern
// middleware governs, written with jennifer.
//
// Policies are resolved by internal/oasgov, so a document with governance
// mistakes generates nothing and every mistake is reported at once.
package oasgen
