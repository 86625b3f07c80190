// Command httporders is an HTTP-first service defined OpenAPI first: its
// api.yaml declares the routes and, in x-govern, their governance; the api
// package is generated from it (oapi-codegen's std net/http strict server
// and models, and govern's policy table keyed by operationId), and
// runtime/httpgovern applies the policies on every request. The admin
// endpoints (/livez, /readyz, /healthz, /debug/metrics) are served on a
// port of their own.
//
// Regenerate the api package after editing api.yaml with
//
//	go test ./internal/oasgen -run TestExampleIsGenerated -update
//
// from the repository root.
package main
