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
	opts := govgen.Options{Warnings: os.Stderr}
	params := opts.FlagSet()
	protogen.Options{ParamFunc: params.Set}.Run(func(gen *protogen.Plugin) error {
		return govgen.Generate(gen, opts)
	})
}
