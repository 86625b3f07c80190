package protodriver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	// Registered in protoregistry.GlobalFiles so that imports of
	// google/api/annotations.proto, google/api/http.proto and
	// govern/v1/govern.proto resolve without a copy on disk.
	_ "github.com/govkit/govern/proto/govern/v1"
	_ "google.golang.org/genproto/googleapis/api/annotations"
)

// Compiled is the result of compiling a set of .proto files: the files
// asked for and every file they import, as protoc would hand them to a plugin.
type Compiled struct {
	// Files lists every file, dependencies before dependents.
	Files []*descriptorpb.FileDescriptorProto
	// ToGenerate lists the names (import paths) of the files compiled on request.
	ToGenerate []string
}

// Compile parses and links files (paths relative to one of importPaths,
// like protoc's -I) and returns them with their transitive imports.
// Imports not found under importPaths are served from the descriptors
// compiled into this binary (see the package doc). Errors name
// file:line:col, as protoc's do.
func Compile(ctx context.Context, importPaths []string, files []string) (*Compiled, error) {
	if len(files) == 0 {
		return nil, errors.New("no .proto files to compile: put them under the proto directory named in buf.yaml")
	}
	compiler := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
			&protocompile.SourceResolver{ImportPaths: importPaths},
			protocompile.ResolverFunc(registeredFile),
		}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	linked, err := compiler.Compile(ctx, files...)
	if err != nil {
		return nil, fmt.Errorf("compile protos: %w", err)
	}
	out := &Compiled{ToGenerate: slices.Clone(files)}
	seen := map[string]bool{}
	var visit func(fd protoreflect.FileDescriptor)
	visit = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			visit(imports.Get(i).FileDescriptor)
		}
		var fdp *descriptorpb.FileDescriptorProto
		if r, ok := fd.(linker.Result); ok {
			fdp = proto.Clone(r.FileDescriptorProto()).(*descriptorpb.FileDescriptorProto)
		} else {
			fdp = protodesc.ToFileDescriptorProto(fd)
		}
		if !slices.Contains(files, fd.Path()) {
			// protoc sends source info only for the files to generate.
			fdp.SourceCodeInfo = nil
		}
		setJSONNames(fdp.GetMessageType())
		out.Files = append(out.Files, fdp)
	}
	for _, f := range linked {
		visit(f)
	}
	return out, nil
}

// registeredFile resolves an import from the descriptors linked into this
// binary (google/api, govern/v1).
func registeredFile(path string) (protocompile.SearchResult, error) {
	fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
	if err != nil {
		return protocompile.SearchResult{}, fmt.Errorf("import %q not found under the proto directory nor built in: %w", path, err)
	}
	return protocompile.SearchResult{Desc: fd}, nil
}

// setJSONNames fills json_name on every field the way protoc does before
// it calls a plugin.
func setJSONNames(messages []*descriptorpb.DescriptorProto) {
	for _, m := range messages {
		for _, f := range m.GetField() {
			if f.JsonName == nil {
				f.JsonName = proto.String(jsonName(f.GetName()))
			}
		}
		setJSONNames(m.GetNestedType())
	}
}

// jsonName is protoc's ToJsonName: drop underscores, upper-case the letter after one.
func jsonName(name string) string {
	var b strings.Builder
	upper := false
	for _, r := range name {
		if r == '_' {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Request builds the CodeGeneratorRequest protoc would send to a plugin
// invoked with --NAME_opt=parameter.
func (c *Compiled) Request(parameter string) *pluginpb.CodeGeneratorRequest {
	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate: slices.Clone(c.ToGenerate),
		ProtoFile:      c.Files,
	}
	if parameter != "" {
		req.Parameter = proto.String(parameter)
	}
	for _, f := range c.Files {
		if slices.Contains(c.ToGenerate, f.GetName()) {
			req.SourceFileDescriptors = append(req.SourceFileDescriptors, f)
		}
	}
	return req
}

// Plugin is one code generator: the command that runs it, the directory
// its files go to (relative to the working directory) and its parameter.
type Plugin struct {
	// Command runs the plugin, e.g. ["go", "tool", "protoc-gen-go"].
	Command []string
	// Out is the output directory.
	Out string
	// Parameter is the comma-separated option string (protoc's --X_opt).
	Parameter string
	// Warn, when not nil, receives each line the plugin wrote to stderr
	// when it succeeded (warnings, such as protoc-gen-govern's about
	// objectives that can never be missed); protoc shows them the same way.
	Warn func(line string)
}

// GoTool reports whether the plugin runs as `go tool NAME` (built from the
// go.mod of the directory it runs in, on first use).
func (p Plugin) GoTool() bool {
	return len(p.Command) >= 3 && p.Command[0] == "go" && p.Command[1] == "tool"
}

// Name is the plugin's name for messages: the last word of its command.
func (p Plugin) Name() string {
	if len(p.Command) == 0 {
		return "<empty plugin command>"
	}
	return filepath.Base(p.Command[len(p.Command)-1])
}

// Run executes the plugin in dir with req on stdin and returns its response.
// A plugin that reports an error in the response gets it returned verbatim,
// prefixed by its name.
func (p Plugin) Run(ctx context.Context, dir string, req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error) {
	if len(p.Command) == 0 {
		return nil, errors.New("plugin has no command: set `local:` in buf.gen.yaml")
	}
	in, err := proto.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request for %s: %w", p.Name(), err)
	}
	if _, err := exec.LookPath(p.Command[0]); err != nil {
		return nil, fmt.Errorf("run %s: %w: install it on PATH, or run it from your go.mod with `local: [go, tool, %s]` in buf.gen.yaml", p.Name(), err, p.Name())
	}
	cmd := exec.CommandContext(ctx, p.Command[0], p.Command[1:]...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("run %s (%s): %w\n%s", p.Name(), strings.Join(p.Command, " "), err, strings.TrimSpace(stderr.String()))
	}
	resp := &pluginpb.CodeGeneratorResponse{}
	if err := proto.Unmarshal(stdout.Bytes(), resp); err != nil {
		return nil, fmt.Errorf("%s wrote something that is not a CodeGeneratorResponse: %w", p.Name(), err)
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("%s: %s", p.Name(), resp.GetError())
	}
	if err := checkFeatures(p.Name(), req, resp); err != nil {
		return nil, err
	}
	if p.Warn != nil {
		for line := range strings.Lines(stderr.String()) {
			if line = strings.TrimSpace(line); line != "" {
				p.Warn(line)
			}
		}
	}
	return resp, nil
}

// checkFeatures refuses a response from a plugin that did not declare
// support for a feature the files to generate use, as protoc does: such a
// plugin silently generates wrong code (a proto3 optional field without
// presence).
func checkFeatures(name string, req *pluginpb.CodeGeneratorRequest, resp *pluginpb.CodeGeneratorResponse) error {
	supported := resp.GetSupportedFeatures()
	for _, f := range req.GetProtoFile() {
		if !slices.Contains(req.GetFileToGenerate(), f.GetName()) {
			continue
		}
		if f.GetSyntax() == "editions" && supported&uint64(pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS) == 0 {
			return fmt.Errorf("%s does not support editions, which %s uses: upgrade the plugin or use syntax = \"proto3\"", name, f.GetName())
		}
		if usesProto3Optional(f.GetMessageType()) && supported&uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL) == 0 {
			return fmt.Errorf("%s does not support proto3 optional fields, which %s uses: upgrade the plugin", name, f.GetName())
		}
	}
	return nil
}

func usesProto3Optional(messages []*descriptorpb.DescriptorProto) bool {
	for _, m := range messages {
		for _, field := range m.GetField() {
			if field.GetProto3Optional() {
				return true
			}
		}
		if usesProto3Optional(m.GetNestedType()) {
			return true
		}
	}
	return false
}

// WriteFiles writes the files of resp under outDir and returns their paths.
// It refuses paths that escape outDir and insertion points.
func WriteFiles(outDir string, resp *pluginpb.CodeGeneratorResponse) ([]string, error) {
	var written []string
	for _, f := range resp.GetFile() {
		if f.GetInsertionPoint() != "" {
			return written, fmt.Errorf("%s: insertion points are not supported; generate the file whole", f.GetName())
		}
		name := filepath.FromSlash(f.GetName())
		if !filepath.IsLocal(name) {
			return written, fmt.Errorf("plugin output %q escapes the output directory", f.GetName())
		}
		path := filepath.Join(outDir, name)
		if err := checkGenerated(path); err != nil {
			return written, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return written, fmt.Errorf("create output directory: %w", err)
		}
		if err := os.WriteFile(path, []byte(f.GetContent()), 0o644); err != nil {
			return written, fmt.Errorf("write generated file: %w", err)
		}
		written = append(written, path)
	}
	return written, nil
}

// checkGenerated refuses to replace an existing file that does not say it
// is generated: regeneration must never overwrite a file a user owns.
func checkGenerated(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check existing file: %w", err)
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	if IsGenerated(head[:n]) {
		return nil
	}
	return fmt.Errorf("%s exists and is not a generated file (no \"Code generated ... DO NOT EDIT.\" line): move it away or change the plugin's out directory; it was not overwritten", path)
}

// IsGenerated reports whether src carries Go's generated-file marker
// (https://go.dev/s/generatedcode) before the package clause, as a Go or
// YAML comment ("# Code generated ... DO NOT EDIT.") or, in JSON that has
// no comments, as a top-level "description" (Grafana dashboards).
func IsGenerated(src []byte) bool {
	for line := range bytes.Lines(src) {
		line = bytes.TrimSpace(line)
		for _, lead := range []string{"// ", "# ", `"description": "`} {
			text, ok := bytes.CutPrefix(line, []byte(lead))
			if lead[0] == '"' {
				text = bytes.TrimSuffix(bytes.TrimSuffix(text, []byte(",")), []byte(`"`))
			}
			if ok && bytes.HasPrefix(text, []byte("Code generated ")) && bytes.HasSuffix(text, []byte(" DO NOT EDIT.")) {
				return true
			}
		}
		if bytes.HasPrefix(line, []byte("package ")) {
			return false
		}
	}
	return false
}
