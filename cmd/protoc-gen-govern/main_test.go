package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update; the golden files live in internal/govgen
	"github.com/govkit/govern/internal/govgen/govgentest"
)

// repoRoot is the module root, two levels above this package.
var repoRoot, _ = filepath.Abs("../..")

// needTool returns the path of an external tool the end-to-end tests need;
// without it they skip, except under CI where a missing tool is a failure.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found and CI is set: install it (Debian: apt-get install protobuf-compiler)", name)
		}
		t.Skipf("%s not found; install it to run the end-to-end test", name)
	}
	return path
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// buildPlugins builds protoc-gen-govern and the plugins pinned by go.mod's
// tool directives into a temporary directory.
func buildPlugins(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	run(t, repoRoot, nil, "go", "build", "-o", bin+string(os.PathSeparator),
		"google.golang.org/protobuf/cmd/protoc-gen-go",
		"google.golang.org/grpc/cmd/protoc-gen-go-grpc",
		"github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway",
		"./cmd/protoc-gen-govern")
	return bin
}

// googleapisDir finds google/api/annotations.proto in the module cache (the
// third_party folder of grpc-gateway v1.16.0): never copied into the repo.
func googleapisDir(t *testing.T) string {
	t.Helper()
	out := run(t, repoRoot, nil, "go", "mod", "download", "-json", "github.com/grpc-ecosystem/grpc-gateway@v1.16.0")
	var mod struct{ Dir string }
	if err := json.Unmarshal([]byte(out), &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download: %v\n%s", err, out)
	}
	return filepath.Join(mod.Dir, "third_party", "googleapis")
}

func protocSupportsEditions(t *testing.T, protoc string) bool {
	out := run(t, "", nil, protoc, "--version")
	m := regexp.MustCompile(`(\d+)\.\d+`).FindStringSubmatch(out)
	if m == nil {
		return false
	}
	// "libprotoc 3.21.12" predates editions, which arrived in 27.0.
	major, _ := strconv.Atoi(m[1])
	return major >= 27
}

// TestEndToEnd runs the real protoc with the built plugin (and
// protoc-gen-go, protoc-gen-go-grpc, protoc-gen-grpc-gateway) over the
// golden protos into a temporary module that replaces
// github.com/govkit/govern with this tree, then builds and vets it. The
// govern output must equal the golden files, which the in-process tests
// produce with protocompile.
func TestEndToEnd(t *testing.T) {
	protoc := needTool(t, "protoc")
	if testing.Short() {
		t.Skip("builds plugins and a module; skipped with -short")
	}
	bin := buildPlugins(t)
	googleapis := googleapisDir(t)
	mod := t.TempDir()

	protos := []string{"levels.proto", "keys.proto", "streaming.proto", "http.proto", "noservice.proto"}
	if protocSupportsEditions(t, protoc) {
		protos = append(protos, "editions.proto", "opaque.proto")
	}
	args := []string{
		"-I", filepath.Join(repoRoot, "testdata", "protos"),
		"-I", filepath.Join(repoRoot, "proto"),
		"-I", googleapis,
		"--plugin=protoc-gen-go=" + filepath.Join(bin, "protoc-gen-go"),
		"--plugin=protoc-gen-go-grpc=" + filepath.Join(bin, "protoc-gen-go-grpc"),
		"--plugin=protoc-gen-grpc-gateway=" + filepath.Join(bin, "protoc-gen-grpc-gateway"),
		"--plugin=protoc-gen-govern=" + filepath.Join(bin, "protoc-gen-govern"),
		"--go_out=.", "--go_opt=module=example.com/governtest",
		"--go-grpc_out=.", "--go-grpc_opt=module=example.com/governtest",
		"--grpc-gateway_out=.", "--grpc-gateway_opt=module=example.com/governtest",
		"--govern_out=.", "--govern_opt=module=example.com/governtest",
	}
	run(t, mod, nil, protoc, append(args, protos...)...)

	if _, err := os.Stat(filepath.Join(mod, "noservice", "noservice_govern.pb.go")); !os.IsNotExist(err) {
		t.Errorf("a file without services got govern output (stat: %v)", err)
	}
	for _, p := range protos {
		name := strings.TrimSuffix(p, ".proto")
		if name == "noservice" {
			continue
		}
		got, err := os.ReadFile(filepath.Join(mod, name, name+"_govern.pb.go"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "golden", name+"_govern.pb.go"))
		if err != nil {
			t.Fatal(err)
		}
		protocLine := regexp.MustCompile(`(?m)^// - protoc +\S+.*$`)
		if !protocLine.Match(got) {
			t.Errorf("%s: header has no protoc version line", name)
		}
		norm := func(b []byte) string { return protocLine.ReplaceAllString(string(b), "// - protoc") }
		if norm(got) != norm(want) {
			t.Errorf("%s: protoc output differs from testdata/golden (protocompile); run go test ./internal/govgen/ -update and compare", name)
		}
	}

	writeModule(t, mod)
	env := []string{"GOFLAGS=-mod=mod", "GOWORK=off"}
	run(t, mod, env, "go", "build", "./...")
	run(t, mod, env, "go", "vet", "./...")
}

// writeModule writes go.mod and go.sum of the temporary module: it requires
// govern (replaced by this tree) and pins everything else to this repo's
// versions, so the build needs nothing beyond the module cache.
func writeModule(t *testing.T, dir string) {
	t.Helper()
	out := run(t, repoRoot, nil, "go", "mod", "edit", "-json")
	var gomod struct {
		Go      string
		Require []struct{ Path, Version string }
	}
	if err := json.Unmarshal([]byte(out), &gomod); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "module example.com/governtest\n\ngo %s\n\nrequire github.com/govkit/govern v0.0.0\n\nrequire (\n", gomod.Go)
	for _, r := range gomod.Require {
		fmt.Fprintf(&b, "\t%s %s\n", r.Path, r.Version)
	}
	fmt.Fprintf(&b, ")\n\nreplace github.com/govkit/govern => %s\n", repoRoot)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(repoRoot, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBinary checks the harness of the built binary: -version, and garbage
// on stdin failing cleanly instead of panicking.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin; skipped with -short")
	}
	bin := t.TempDir()
	run(t, repoRoot, nil, "go", "build", "-o", bin+string(os.PathSeparator), "./cmd/protoc-gen-govern")
	plugin := filepath.Join(bin, "protoc-gen-govern")

	if out := run(t, "", nil, plugin, "-version"); !regexp.MustCompile(`^protoc-gen-govern v\d+\.\d+\.\d+\n$`).MatchString(out) {
		t.Errorf("-version printed %q", out)
	}
	for _, in := range [][]byte{{0xff, 0xff, 0xff}, []byte("not a request"), {0x0a, 0x05, 'a'}} {
		cmd := exec.Command(plugin)
		cmd.Stdin = bytes.NewReader(in)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if err == nil {
			t.Errorf("input %q: exit status 0", in)
		}
		if strings.Contains(stderr.String(), "panic") || strings.Contains(stderr.String(), "goroutine") {
			t.Errorf("input %q: panicked:\n%s", in, stderr.String())
		}
		if !strings.HasPrefix(stderr.String(), "protoc-gen-govern: ") {
			t.Errorf("input %q: stderr %q does not name the plugin", in, stderr.String())
		}
	}
}

// TestEndToEndEditions covers what an old protoc cannot: editions files
// (open and opaque Go APIs) compiled in process with protocompile, the
// request fed to the built protoc-gen-go, protoc-gen-go-grpc and
// protoc-gen-govern binaries, and the result built and vetted.
func TestEndToEndEditions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds plugins and a module; skipped with -short")
	}
	bin := buildPlugins(t)
	mod := t.TempDir()
	protos := []string{"editions.proto", "opaque.proto"}
	req := govgentest.Request(t, "module=example.com/governtest",
		[]string{filepath.Join(repoRoot, "testdata", "protos"), filepath.Join(repoRoot, "proto")}, protos...)
	in, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, plugin := range []string{"protoc-gen-go", "protoc-gen-go-grpc", "protoc-gen-govern"} {
		cmd := exec.Command(filepath.Join(bin, plugin))
		cmd.Stdin = bytes.NewReader(in)
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", plugin, err, stderr.String())
		}
		resp := &pluginpb.CodeGeneratorResponse{}
		if err := proto.Unmarshal(out.Bytes(), resp); err != nil {
			t.Fatal(err)
		}
		if resp.Error != nil {
			t.Fatalf("%s: %s", plugin, resp.GetError())
		}
		for _, f := range resp.File {
			path := filepath.Join(mod, f.GetName())
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(f.GetContent()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, name := range []string{"editions", "opaque"} {
		got, err := os.ReadFile(filepath.Join(mod, name, name+"_govern.pb.go"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "golden", name+"_govern.pb.go"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: output differs from testdata/golden", name)
		}
	}
	writeModule(t, mod)
	env := []string{"GOFLAGS=-mod=mod", "GOWORK=off"}
	run(t, mod, env, "go", "build", "./...")
	run(t, mod, env, "go", "vet", "./...")
}
