package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/govkit/govern/internal/protodriver"
)

// docsBufGen is the buf.gen.yaml that docs/plugin.md gives buf users.
func docsBufGen(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/plugin.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)With buf \\(`buf.gen.yaml`, version 2\\):\n\n```yaml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/plugin.md has no buf.gen.yaml block after \"With buf (`buf.gen.yaml`, version 2):\"")
	}
	return string(m[1])
}

// TestGenerateWithDocsBufGen runs generate on docs/plugin.md's buf.gen.yaml
// verbatim: no inputs (so the protos are found as buf finds them, from the
// directory itself or buf.yaml's modules) and plugins that are binaries on
// PATH, installed as the same page says.
func TestGenerateWithDocsBufGen(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four plugins; skipped with -short")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(filepath.Separator),
		"google.golang.org/protobuf/cmd/protoc-gen-go",
		"google.golang.org/grpc/cmd/protoc-gen-go-grpc",
		"github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway",
		"github.com/govkit/govern/cmd/protoc-gen-govern")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the plugins: %v\n%s", err, out)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	proto, err := os.ReadFile("../../internal/protodriver/testdata/proto/demo/v1/demo.proto")
	if err != nil {
		t.Fatal(err)
	}
	bufGen := docsBufGen(t)

	for _, layout := range []struct {
		name, bufYAML, protoDir string
	}{
		{"protos at the root, no buf.yaml", "", "."},
		{"buf.yaml v2 module proto", "version: v2\nmodules:\n  - path: proto\n", "proto"},
	} {
		t.Run(layout.name, func(t *testing.T) {
			dir := t.TempDir()
			write := func(name, content string) {
				t.Helper()
				path := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("buf.gen.yaml", bufGen)
			if layout.bufYAML != "" {
				write("buf.yaml", layout.bufYAML)
			}
			write(filepath.Join(layout.protoDir, "demo/v1/demo.proto"), string(proto))

			out, err := execute(t, "generate", "--dir", dir)
			if err != nil {
				t.Fatalf("generate: %v\n%s", err, out)
			}
			if strings.Contains(out, "go tool") {
				t.Errorf("progress mentions go tool although every plugin is a binary on PATH:\n%s", out)
			}
			for _, name := range []string{"demo.pb.go", "demo_grpc.pb.go", "demo.pb.gw.go", "demo_govern.pb.go"} {
				path := filepath.Join(dir, "demo", "v1", name)
				src, err := os.ReadFile(path)
				if err != nil {
					t.Errorf("%s was not generated (output:\n%s)", name, out)
					continue
				}
				if !protodriver.IsGenerated(src) {
					t.Errorf("%s lacks the generated-code header", name)
				}
			}
		})
	}
}
