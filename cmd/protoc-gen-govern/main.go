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
// switches it to JSON. The generator lives in internal/govgen.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"

	"google.golang.org/protobuf/compiler/protogen"

	"github.com/govkit/govern/internal/govgen"
)

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Printf("protoc-gen-govern v%s\n", govgen.Version)
		return
	}
	// A plugin run is a short batch job whose memory is released at exit:
	// collecting less often saves ~15% CPU on a 127-service request for
	// ~25 MB more peak memory. GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	var opts govgen.Options
	params := opts.FlagSet()
	protogen.Options{ParamFunc: params.Set}.Run(func(gen *protogen.Plugin) error {
		return govgen.Generate(gen, opts)
	})
}
