// Package govgen is the code generator behind protoc-gen-govern.
//
// It reads the govern.v1 policy options of proto files (file, service and
// method level), resolves them field by field (method > service > file >
// tier defaults > built-in defaults), validates them, and emits
// <file>_govern.pb.go beside protoc-gen-go's output with, per service Svc:
//
//   - SvcPolicy, the resolved policy.Table with typed values;
//   - Svc_MethodIdempotencyKey, a typed key extractor per method with
//     key_fields (generated getters, no reflection at run time);
//   - SvcServiceConfig, the gRPC service-config JSON built by
//     runtime/serviceconfig;
//   - SvcRoutes, the google.api.http routes with their policies;
//
// and, with openapi=true, an OpenAPI 3.0 document per file.
//
// Validation reports every problem at once, each as
// "file.proto:line:col: message" naming the fix, because a team fixing a
// fleet's protos should not iterate one error at a time.
//
// It is a package rather than code in cmd/protoc-gen-govern so that
// cmd/govscaffold can generate in process without protoc, and so tests and
// fuzz targets drive exactly the code the plugin runs. Each emitted construct
// has its own file (policytable.go, keyfields.go, svcconfig.go, routes.go,
// openapi.go), in the manner of protoc-gen-go-grpc.
package govgen
