// Package oasgov reads the governance an OpenAPI 3.0/3.1 document declares
// in x-govern extensions and resolves it into the policy table the govern
// runtime serves, keyed by operationId.
//
// An x-govern object has the fields of the proto govern.v1.Policy, spelled
// as in protojson (proto names such as key_fields, or JSON names such as
// keyFields; enums by name, TIER_GOLD). It may appear at three levels, the
// twins of the proto ones: the document's top level (file scope), a path
// item (service scope) and an operation (method scope); an operation's
// x-govern may also name the gRPC method it shares limits and idempotency
// keys with (grpc_method). The HTTP method stands in for
// descriptor.proto's idempotency_level: GET, HEAD and OPTIONS have no side
// effects, PUT and DELETE are idempotent, POST and PATCH need an
// idempotency block before a client may retry them.
//
// Resolution and validation are the proto path's own (govgen.ResolvePolicy
// and govgen.CheckPolicy), so a policy means the same whichever language
// declared it. What is OpenAPI-specific lives here: decoding x-govern from
// the YAML node tree with positions, checking key_fields against the
// request body schema and parameters, and reporting invalid OpenAPI
// (kin-openapi's validation) before any governance check. Every problem is
// reported at once as "api.yaml:line:col: message", naming the fix.
package oasgov
