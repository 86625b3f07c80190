package govgen

import (
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/govkit/govern/internal/govgen/govgentest"
)

// repoRoot is the module root, two levels above this package.
const repoRoot = "../.."

// protoImportPaths are where test protos and govern.proto are found.
var protoImportPaths = []string{
	filepath.Join(repoRoot, "testdata", "protos"),
	filepath.Join(repoRoot, "proto"),
}

// compileRequest compiles proto files in process, as protoc would, and
// returns the CodeGeneratorRequest protoc would send.
func compileRequest(t testing.TB, parameter string, importPaths []string, files ...string) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	return govgentest.Request(t, parameter, importPaths, files...)
}

// generate runs the plugin in process over the encoded request, the way
// protoc runs the binary.
func generate(t testing.TB, req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
	t.Helper()
	in, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(in)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	resp := &pluginpb.CodeGeneratorResponse{}
	if err := proto.Unmarshal(out, resp); err != nil {
		t.Fatal(err)
	}
	return resp
}
