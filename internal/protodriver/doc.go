// Package protodriver generates code from .proto files the way protoc
// does, with no protoc installed: it compiles the files in process with
// github.com/bufbuild/protocompile, builds the pluginpb.CodeGeneratorRequest
// protoc would send (every transitive dependency in import order, source
// code info and comments for the files to generate, json_name on every
// field, the plugin parameter), runs each plugin binary with the request on
// stdin and writes the files of its CodeGeneratorResponse.
//
// Why this and not buf or protoc: a scaffolded service must build on a
// fresh machine from its go.mod alone. protoc is a C++ binary that the Go
// toolchain cannot fetch; buf is a Go module, but a large one (its own
// dependency tree, a registry client and, for google/api imports, a network
// round trip to the Buf Schema Registry), and `go tool buf` would put all of
// it into every service's go.mod. protocompile is already a dependency of
// govern, compiles the same language (it passes protoc's conformance
// corpus), and the imports a governed service needs are already compiled
// into this binary: google/protobuf/* (protocompile's standard imports),
// google/api/{annotations,http}.proto (registered by
// google.golang.org/genproto/googleapis/api/annotations) and
// govern/v1/govern.proto (registered by the govern module itself). The
// plugins come from the service's own go.mod `tool` directives and run as
// `go tool protoc-gen-go`, so their versions are pinned exactly as buf or
// protoc users would pin them, and the buf.gen.yaml that buf users run is
// the configuration read here (LoadBufGen), so both paths produce the same
// files.
//
// Differences from protoc, on purpose: compiler_version is left unset (the
// plugins print "(unknown)" instead of a protoc version, which also keeps
// generated headers identical across machines), and insertion points are
// rejected with an error since no govern plugin uses them.
package protodriver
