package govgen

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/pluginpb"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// repoRoot is the module root, two levels above this package.
const repoRoot = "../.."

// protoImportPaths are where test protos and govern.proto are found.
var protoImportPaths = []string{
	filepath.Join(repoRoot, "testdata", "protos"),
	filepath.Join(repoRoot, "proto"),
}

// registryResolver serves files that Go packages linked into the test
// binary registered, such as google/api/annotations.proto from
// google.golang.org/genproto/googleapis/api/annotations: the repo never
// carries copies of them.
func registryResolver(path string) (protocompile.SearchResult, error) {
	fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
	if err != nil {
		return protocompile.SearchResult{}, err
	}
	return protocompile.SearchResult{Proto: protodesc.ToFileDescriptorProto(fd)}, nil
}

// compileRequest compiles proto files in process with protocompile, as
// protoc would, and returns the CodeGeneratorRequest protoc would send.
func compileRequest(t testing.TB, parameter string, importPaths []string, files ...string) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	compiler := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
			&protocompile.SourceResolver{ImportPaths: importPaths},
			protocompile.ResolverFunc(registryResolver),
		}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	compiled, err := compiler.Compile(context.Background(), files...)
	if err != nil {
		t.Fatalf("compiling %v: %v", files, err)
	}
	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate:  files,
		Parameter:       proto.String(parameter),
		CompilerVersion: nil,
	}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			add(imports.Get(i).FileDescriptor)
		}
		req.ProtoFile = append(req.ProtoFile, protodesc.ToFileDescriptorProto(fd))
	}
	for _, f := range compiled {
		add(f)
	}
	// Round-trip through bytes so options are decoded exactly as the plugin
	// decodes protoc's request (extensions resolved from the Go registry).
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	out := &pluginpb.CodeGeneratorRequest{}
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
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

// checkGolden compares got with the golden file, rewriting it under -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./internal/govgen/ -update to create it): %v", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the generated output (run go test ./internal/govgen/ -update and review the diff):\n--- got ---\n%s", path, got)
	}
}
