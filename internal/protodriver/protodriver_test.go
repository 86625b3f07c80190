package protodriver

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/pluginpb"
)

// goTool runs a plugin from this module's go.mod tool directives, the way a
// scaffolded service runs its own.
func goTool(name string) []string { return []string{"go", "tool", name} }

func TestCompileBuildsProtocLikeRequest(t *testing.T) {
	compiled, err := Compile(t.Context(), []string{"testdata/proto"}, []string{"demo/v1/demo.proto"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range compiled.Files {
		names = append(names, f.GetName())
	}
	// Dependencies before dependents, every transitive import once.
	pos := map[string]int{}
	for i, n := range names {
		if _, dup := pos[n]; dup {
			t.Fatalf("%s listed twice in %v", n, names)
		}
		pos[n] = i
	}
	for _, pair := range [][2]string{
		{"google/protobuf/descriptor.proto", "google/api/annotations.proto"},
		{"google/api/http.proto", "google/api/annotations.proto"},
		{"google/api/annotations.proto", "demo/v1/demo.proto"},
		{"govern/v1/govern.proto", "demo/v1/demo.proto"},
	} {
		before, okb := pos[pair[0]]
		after, oka := pos[pair[1]]
		if !okb || !oka || before > after {
			t.Errorf("want %s before %s in %v", pair[0], pair[1], names)
		}
	}
	req := compiled.Request("paths=source_relative")
	if got := req.GetParameter(); got != "paths=source_relative" {
		t.Errorf("parameter = %q", got)
	}
	for _, f := range req.GetProtoFile() {
		hasInfo := f.GetSourceCodeInfo() != nil
		if want := f.GetName() == "demo/v1/demo.proto"; hasInfo != want {
			t.Errorf("%s: source info present = %v, want %v", f.GetName(), hasInfo, want)
		}
		if f.GetName() == "demo/v1/demo.proto" {
			field := f.GetMessageType()[0].GetField()[1]
			if field.GetJsonName() != "displayName" {
				t.Errorf("json_name of %s = %q, want displayName", field.GetName(), field.GetJsonName())
			}
		}
	}
}

func TestCompileReportsPosition(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.proto"), []byte("syntax = \"proto3\";\npackage x;\nmessage M { strin f = 1; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Compile(t.Context(), []string{dir}, []string{"bad.proto"})
	if err == nil || !strings.Contains(err.Error(), "bad.proto:3:") {
		t.Fatalf("want an error naming bad.proto:3, got %v", err)
	}
}

func TestGenerateRunsPluginsFromGoTool(t *testing.T) {
	if testing.Short() {
		t.Skip("builds plugins with go tool")
	}
	dir := t.TempDir()
	gen := &BufGen{
		Inputs: []string{mustAbs(t, "testdata/proto")},
		Plugins: []Plugin{
			{Command: goTool("protoc-gen-go"), Out: "gen", Parameter: "paths=source_relative"},
			{Command: goTool("protoc-gen-go-grpc"), Out: "gen", Parameter: "paths=source_relative"},
			{Command: goTool("protoc-gen-grpc-gateway"), Out: "gen", Parameter: "paths=source_relative"},
		},
	}
	// go tool must run inside this module; write into dir through absolute outs.
	for i := range gen.Plugins {
		gen.Plugins[i].Out = filepath.Join(dir, "gen")
	}
	written, err := gen.Generate(t.Context(), ".", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"demo.pb.go", "demo.pb.gw.go", "demo_grpc.pb.go"}
	if len(written) != len(want) {
		t.Fatalf("wrote %v, want %v", written, want)
	}
	for i, w := range want {
		if filepath.Base(written[i]) != w {
			t.Errorf("file %d = %s, want %s", i, written[i], w)
		}
	}
	pb, err := os.ReadFile(filepath.Join(dir, "gen/demo/v1/demo.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"package demov1", "// Item is what the service stores.", `json:"display_name,omitempty"`, "_ \"github.com/govkit/govern/proto/govern/v1\"", "google.golang.org/genproto/googleapis/api/annotations"} {
		if !bytes.Contains(pb, []byte(s)) {
			t.Errorf("demo.pb.go lacks %q", s)
		}
	}
	gw, err := os.ReadFile(filepath.Join(dir, "gen/demo/v1/demo.pb.gw.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(gw, []byte(`"/v1/items/{item_id}"`)) && !bytes.Contains(gw, []byte(`"item_id"`)) {
		t.Errorf("gateway lacks the GetItem route:\n%s", gw)
	}
}

// TestMatchesProtoc runs protoc-gen-go once under protoc and once under
// this driver and requires identical output but for the protoc version
// line: the request is built as protoc builds it.
func TestMatchesProtoc(t *testing.T) {
	if testing.Short() {
		t.Skip("builds plugins with go tool")
	}
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("protoc not on PATH under CI: .ci/run installs protobuf-compiler")
		}
		t.Skip("protoc not installed; nothing to compare with")
	}
	plugin, err := exec.Command("go", "tool", "-n", "protoc-gen-go").Output()
	if err != nil {
		t.Fatal(err)
	}
	protocOut := t.TempDir()
	cmd := exec.Command(protoc,
		"--plugin=protoc-gen-go="+strings.TrimSpace(string(plugin)),
		"-I", "testdata/plain", "-I", "../../proto",
		"--go_out="+protocOut, "--go_opt=paths=source_relative",
		"plain/v1/plain.proto")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, out)
	}
	compiled, err := Compile(t.Context(), []string{"testdata/plain"}, []string{"plain/v1/plain.proto"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := Plugin{Command: goTool("protoc-gen-go")}.Run(t.Context(), ".", compiled.Request("paths=source_relative"))
	if err != nil {
		t.Fatal(err)
	}
	ours := driverFile(t, resp, "plain/v1/plain.pb.go")
	theirs, err := os.ReadFile(filepath.Join(protocOut, "plain/v1/plain.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	versionLine := regexp.MustCompile(`(?m)^// \tprotoc .*$`)
	a := versionLine.ReplaceAllString(ours, "")
	b := versionLine.ReplaceAllString(string(theirs), "")
	if a != b {
		t.Errorf("driver output differs from protoc's\n--- driver\n%s\n--- protoc\n%s", a, b)
	}
}

func driverFile(t *testing.T, resp *pluginpb.CodeGeneratorResponse, name string) string {
	t.Helper()
	for _, f := range resp.GetFile() {
		if f.GetName() == name {
			return f.GetContent()
		}
	}
	t.Fatalf("plugin did not write %s", name)
	return ""
}

func TestWriteFilesRefusesUserFiles(t *testing.T) {
	dir := t.TempDir()
	owned := filepath.Join(dir, "a.pb.go")
	if err := os.WriteFile(owned, []byte("package a\n// mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resp := &pluginpb.CodeGeneratorResponse{File: []*pluginpb.CodeGeneratorResponse_File{{Name: ptr("a.pb.go"), Content: ptr("// Code generated by x. DO NOT EDIT.\npackage a\n")}}}
	if _, err := WriteFiles(dir, resp); err == nil || !strings.Contains(err.Error(), "not a generated file") {
		t.Fatalf("want refusal, got %v", err)
	}
	if err := os.WriteFile(owned, []byte("// Code generated by y. DO NOT EDIT.\n\npackage a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteFiles(dir, resp); err != nil {
		t.Fatalf("regenerating a generated file: %v", err)
	}
	for _, bad := range []string{"../escape.go", "/abs.go"} {
		resp.File[0].Name = ptr(bad)
		if _, err := WriteFiles(dir, resp); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func TestLoadBufGen(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
		wantPlugins         int
	}{
		{"list and string local", "version: v2\ninputs:\n  - directory: api\nplugins:\n  - local: [go, tool, protoc-gen-go]\n    out: gen\n    opt: [paths=source_relative, M=x]\n  - local: protoc-gen-x\n    out: gen\n", "", 2},
		{"remote rejected", "version: v2\nplugins:\n  - remote: buf.build/protocolbuffers/go\n    out: gen\n", "only `local:` plugins", 0},
		{"v1 rejected", "version: v1\nplugins: []\n", "write `version: v2`", 0},
		{"no out", "version: v2\nplugins:\n  - local: x\n", "no `out:`", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "api"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "buf.gen.yaml"), []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadBufGen(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Plugins) != tt.wantPlugins {
				t.Fatalf("plugins = %v", cfg.Plugins)
			}
			if cfg.Inputs[0] != "api" || cfg.Plugins[0].Parameter != "paths=source_relative,M=x" || cfg.Plugins[0].Name() != "protoc-gen-go" {
				t.Errorf("parsed %+v", cfg)
			}
		})
	}
}

// TestBufInputs checks that the protos are found where buf generate finds
// them when run in the same directory.
func TestBufInputs(t *testing.T) {
	const plugins = "plugins:\n  - local: protoc-gen-go\n    out: .\n"
	tests := []struct {
		name       string
		files      map[string]string
		wantInputs []string
		wantFiles  []string
		wantErr    string
	}{
		{
			name: "no inputs and no buf.yaml: the directory itself",
			files: map[string]string{
				"buf.gen.yaml":     "version: v2\n" + plugins,
				"a/v1/a.proto":     "",
				"gen/notes.txt":    "",
				"b/v1/b.proto":     "",
				"b/v1/README.md":   "",
				"docs/x/x.proto":   "",
				"docs/x/more.json": "",
			},
			wantInputs: []string{"."},
			wantFiles:  []string{"a/v1/a.proto", "b/v1/b.proto", "docs/x/x.proto"},
		},
		{
			name: "no inputs, buf.yaml v2 modules with excludes",
			files: map[string]string{
				"buf.gen.yaml":           "version: v2\n" + plugins,
				"buf.yaml":               "version: v2\nmodules:\n  - path: proto\n    excludes: [proto/internal]\n  - path: vendor/other\n",
				"proto/pay/v1/p.proto":   "",
				"proto/internal/x.proto": "",
				"vendor/other/o.proto":   "",
				"stray.proto":            "",
			},
			wantInputs: []string{"proto", "vendor/other"},
			wantFiles:  []string{"o.proto", "pay/v1/p.proto"},
		},
		{
			name: "no inputs, buf.yaml v2 without modules",
			files: map[string]string{
				"buf.gen.yaml": "version: v2\n" + plugins,
				"buf.yaml":     "version: v2\n",
				"x/v1/x.proto": "",
			},
			wantInputs: []string{"."},
			wantFiles:  []string{"x/v1/x.proto"},
		},
		{
			name: "directory input that is a v1 module with build excludes",
			files: map[string]string{
				"buf.gen.yaml":      "version: v2\ninputs:\n  - directory: api\n" + plugins,
				"api/buf.yaml":      "version: v1\nbuild:\n  excludes: [old]\n",
				"api/x/v1/x.proto":  "",
				"api/old/old.proto": "",
				"other/other.proto": "",
			},
			wantInputs: []string{"api"},
			wantFiles:  []string{"x/v1/x.proto"},
		},
		{
			name: "directory input that is a v1 workspace",
			files: map[string]string{
				"buf.gen.yaml":        "version: v2\ninputs:\n  - directory: .\n" + plugins,
				"buf.work.yaml":       "version: v1\ndirectories: [proto, third_party]\n",
				"proto/a/a.proto":     "",
				"third_party/t.proto": "",
			},
			wantInputs: []string{"proto", "third_party"},
			wantFiles:  []string{"a/a.proto", "t.proto"},
		},
		{
			name: "git input rejected",
			files: map[string]string{
				"buf.gen.yaml": "version: v2\ninputs:\n  - git_repo: https://example.com/x.git\n" + plugins,
			},
			wantErr: "input 1 (git_repo:): only `directory:` inputs are supported",
		},
		{
			name: "missing input directory",
			files: map[string]string{
				"buf.gen.yaml": "version: v2\ninputs:\n  - directory: proto\n" + plugins,
			},
			wantErr: "input directory proto does not exist",
		},
		{
			name: "no protos",
			files: map[string]string{
				"buf.gen.yaml": "version: v2\n" + plugins,
				"main.go":      "package main\n",
			},
			wantInputs: []string{"."},
			wantErr:    "no .proto files under .",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				path := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := LoadBufGen(dir)
			var files []string
			if err == nil {
				if got := strings.Join(cfg.Inputs, " "); got != strings.Join(tt.wantInputs, " ") {
					t.Errorf("inputs = %q, want %q", cfg.Inputs, tt.wantInputs)
				}
				files, err = cfg.ProtoFiles(dir)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(files, " "); got != strings.Join(tt.wantFiles, " ") {
				t.Errorf("protos = %q, want %q", files, tt.wantFiles)
			}
		})
	}
}

func TestBinaryPluginMissingFromPath(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Plugin{Command: []string{"protoc-gen-nothere"}, Out: "."}.Run(t.Context(), t.TempDir(), &pluginpb.CodeGeneratorRequest{})
	if err == nil || !strings.Contains(err.Error(), "install it on PATH, or run it from your go.mod with `local: [go, tool, protoc-gen-nothere]`") {
		t.Fatalf("err = %v, want the PATH / go tool hint", err)
	}
}

func TestIsGenerated(t *testing.T) {
	for src, want := range map[string]bool{
		"// Code generated by protoc-gen-go. DO NOT EDIT.\npackage a\n":                                                  true,
		"// Copyright\n\n// Code generated by x. DO NOT EDIT.\n\npackage a":                                              true,
		"package a\n// Code generated by x. DO NOT EDIT.\n":                                                              false,
		"// Code generated by hand\npackage a\n":                                                                         false,
		"# Code generated by protoc-gen-govern. DO NOT EDIT.\ngroups: []\n":                                              true,
		"{\n  \"uid\": \"x\",\n  \"description\": \"Code generated by protoc-gen-govern from a.proto. DO NOT EDIT.\",\n": true,
		"{\"description\": \"mine\"}\n":                                                                                  false,
	} {
		if got := IsGenerated([]byte(src)); got != want {
			t.Errorf("IsGenerated(%q) = %v, want %v", src, got, want)
		}
	}
}

func ptr(s string) *string { return &s }

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCheckFeatures(t *testing.T) {
	compiled, err := Compile(t.Context(), []string{"testdata/plain"}, []string{"plain/v1/plain.proto"})
	if err != nil {
		t.Fatal(err)
	}
	req := compiled.Request("")
	optional := uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL)
	if err := checkFeatures("p", req, &pluginpb.CodeGeneratorResponse{SupportedFeatures: &optional}); err != nil {
		t.Errorf("plugin declaring proto3 optional: %v", err)
	}
	err = checkFeatures("p", req, &pluginpb.CodeGeneratorResponse{})
	if err == nil || !strings.Contains(err.Error(), "proto3 optional") || !strings.Contains(err.Error(), "plain/v1/plain.proto") {
		t.Errorf("plugin without proto3 optional support: %v", err)
	}
}
