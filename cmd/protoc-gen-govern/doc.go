// Command protoc-gen-govern is the protoc / buf plugin of govern: it
// validates the govern.v1 policy options of .proto files and generates
// <file>_govern.pb.go (typed policy tables, idempotency key extractors, gRPC
// service config, HTTP routes) beside protoc-gen-go's output.
//
//	protoc -I . -I <govern proto dir> \
//	  --go_out=. --go_opt=paths=source_relative \
//	  --go-grpc_out=. --go-grpc_opt=paths=source_relative \
//	  --govern_out=. --govern_opt=paths=source_relative order/v1/order.proto
//
// Parameters: openapi=true emits <file>.openapi.yaml; openapi_format=json
// switches it to JSON; openapi_server=URL sets its server (default "/") and
// openapi_license=SPDX-ID its info.license. The generator lives in internal/govgen.
package main
