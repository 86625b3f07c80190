package protodriver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/types/pluginpb"
)

// BufGen is the part of a buf.gen.yaml (version v2) that drives generation:
// the input directories and the local plugins.
type BufGen struct {
	// Inputs are proto roots (import paths), relative to the config's
	// directory, resolved as buf resolves them (see LoadBufGen).
	Inputs []string
	// Excludes are directories, relative to the config's directory, whose
	// protos are not compiled (buf.yaml `excludes`).
	Excludes []string
	// Plugins in the order they appear.
	Plugins []Plugin
}

type bufGenFile struct {
	Version string `yaml:"version"`
	// Inputs are one-key maps: directory, git_repo, module, proto_file...
	Inputs  []map[string]any `yaml:"inputs"`
	Plugins []struct {
		Local  stringOrList `yaml:"local"`
		Remote string       `yaml:"remote"`
		Out    string       `yaml:"out"`
		Opt    stringOrList `yaml:"opt"`
	} `yaml:"plugins"`
}

// stringOrList accepts buf's `local: protoc-gen-go` and `local: [go, tool, protoc-gen-go]`.
type stringOrList []string

func (s *stringOrList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = []string{n.Value}
		return nil
	case yaml.SequenceNode:
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		*s = list
		return nil
	}
	return fmt.Errorf("line %d: want a string or a list of strings", n.Line)
}

// LoadBufGen reads dir/buf.gen.yaml. Only `local:` plugins are supported:
// remote plugins need the Buf Schema Registry, which a build with no network
// cannot reach; and only `directory:` inputs, for the same reason.
//
// The inputs are resolved as `buf generate` resolves them when run in dir:
// each `directory:` input of buf.gen.yaml, or dir itself when there are
// none, is a workspace or a module. A directory with a buf.yaml of version
// v2 contributes the paths of its `modules` (the directory itself when it
// lists none) and their `excludes`; one with a v1 buf.yaml is one module
// rooted there (with its `build.excludes`); one with a buf.work.yaml (v1
// workspace) contributes its `directories`; any other directory is a
// module rooted at itself.
func LoadBufGen(dir string) (*BufGen, error) {
	path := filepath.Join(dir, "buf.gen.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w (run from the service root, where buf.gen.yaml is)", path, err)
	}
	var f bufGenFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Version != "v2" {
		return nil, fmt.Errorf("%s: version %q is not supported: write `version: v2`", path, f.Version)
	}
	cfg := &BufGen{}
	inputs := []string{"."}
	if len(f.Inputs) > 0 {
		inputs = inputs[:0]
	}
	for i, in := range f.Inputs {
		d, ok := in["directory"].(string)
		if !ok || len(in) != 1 {
			return nil, fmt.Errorf("%s: input %d (%s): only `directory:` inputs are supported (the others need git or the Buf Schema Registry): write `- directory: proto`", path, i+1, inputKinds(in))
		}
		inputs = append(inputs, d)
	}
	for _, in := range inputs {
		if err := cfg.addWorkspace(dir, in); err != nil {
			return nil, err
		}
	}
	for i, p := range f.Plugins {
		if p.Remote != "" || len(p.Local) == 0 {
			return nil, fmt.Errorf("%s: plugin %d: only `local:` plugins run offline; replace `remote: %s` with a `local:` command such as [go, tool, protoc-gen-go]", path, i+1, p.Remote)
		}
		if p.Out == "" {
			return nil, fmt.Errorf("%s: plugin %s has no `out:` directory", path, strings.Join(p.Local, " "))
		}
		cfg.Plugins = append(cfg.Plugins, Plugin{Command: p.Local, Out: p.Out, Parameter: strings.Join(p.Opt, ",")})
	}
	if len(cfg.Plugins) == 0 {
		return nil, fmt.Errorf("%s: no plugins: add at least one `local:` plugin", path)
	}
	return cfg, nil
}

// inputKinds names the keys of a buf.gen.yaml input, for messages.
func inputKinds(in map[string]any) string {
	kinds := make([]string, 0, len(in))
	for k := range in {
		kinds = append(kinds, k+":")
	}
	sort.Strings(kinds)
	return strings.Join(kinds, " ")
}

// bufYAML is the part of buf.yaml (v1 or v2) and buf.work.yaml that says
// where the protos are.
type bufYAML struct {
	Version string `yaml:"version"`
	Modules []struct {
		Path     string   `yaml:"path"`
		Excludes []string `yaml:"excludes"`
	} `yaml:"modules"`
	Build struct {
		Excludes []string `yaml:"excludes"`
	} `yaml:"build"`
	// Directories is buf.work.yaml's list of modules.
	Directories []string `yaml:"directories"`
}

// addWorkspace adds the proto roots of the input directory in (relative
// to dir), following its buf.yaml or buf.work.yaml.
func (b *BufGen) addWorkspace(dir, in string) error {
	root := filepath.Clean(in)
	if info, err := os.Stat(resolve(dir, root)); err != nil || !info.IsDir() {
		return fmt.Errorf("input directory %s does not exist in %s: list the directory that holds your protos under `inputs:` in buf.gen.yaml (`- directory: proto`), or as a module in buf.yaml", in, dir)
	}
	var conf bufYAML
	name, err := readBufYAML(resolve(dir, root), &conf)
	if err != nil {
		return err
	}
	switch {
	case name == "buf.yaml" && conf.Version == "v2":
		if len(conf.Modules) == 0 {
			b.Inputs = append(b.Inputs, root)
		}
		for _, m := range conf.Modules {
			b.Inputs = append(b.Inputs, filepath.Join(root, filepath.FromSlash(m.Path)))
			for _, ex := range m.Excludes {
				b.Excludes = append(b.Excludes, filepath.Join(root, filepath.FromSlash(ex)))
			}
		}
	case name == "buf.yaml":
		b.Inputs = append(b.Inputs, root)
		for _, ex := range conf.Build.Excludes {
			b.Excludes = append(b.Excludes, filepath.Join(root, filepath.FromSlash(ex)))
		}
	case name == "buf.work.yaml":
		for _, d := range conf.Directories {
			b.Inputs = append(b.Inputs, filepath.Join(root, filepath.FromSlash(d)))
		}
	default:
		b.Inputs = append(b.Inputs, root)
	}
	return nil
}

// readBufYAML decodes dir/buf.yaml, else dir/buf.work.yaml, into conf and
// returns the name of the file read, or "" when there is neither.
func readBufYAML(dir string, conf *bufYAML) (string, error) {
	for _, name := range []string{"buf.yaml", "buf.work.yaml"} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("read %s: %w", path, err)
		}
		if err := yaml.Unmarshal(data, conf); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		return name, nil
	}
	return "", nil
}

// ProtoFiles lists the .proto files under the config's inputs, as import
// paths relative to their input directory, sorted. Excluded directories
// are skipped, and so is an input nested in another, which is listed
// once, relative to itself.
func (b *BufGen) ProtoFiles(dir string) ([]string, error) {
	skip := make(map[string]bool)
	for _, ex := range b.Excludes {
		skip[resolve(dir, ex)] = true
	}
	for _, in := range b.Inputs {
		skip[resolve(dir, in)] = true
	}
	var files []string
	for _, in := range b.Inputs {
		root := resolve(dir, in)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != root && skip[path] {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(path, ".proto") {
				rel, err := filepath.Rel(root, path)
				if err != nil {
					return err
				}
				files = append(files, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list protos: %w", err)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .proto files under %s in %s: list the directory that holds your protos under `inputs:` in buf.gen.yaml (`- directory: proto`), or as a module in buf.yaml", strings.Join(b.Inputs, ", "), dir)
	}
	sort.Strings(files)
	return files, nil
}

// Generate compiles every proto of the inputs and runs every plugin,
// concurrently, writing their files relative to dir. It returns the paths
// written, sorted. Progress, when not nil, is told about each plugin; its
// calls never overlap, although the plugins run concurrently.
func (b *BufGen) Generate(ctx context.Context, dir string, progress func(format string, args ...any)) ([]string, error) {
	if progress == nil {
		progress = func(string, ...any) {}
	}
	var progressMu sync.Mutex
	say := func(format string, args ...any) {
		progressMu.Lock()
		defer progressMu.Unlock()
		progress(format, args...)
	}
	files, err := b.ProtoFiles(dir)
	if err != nil {
		return nil, err
	}
	roots := make([]string, len(b.Inputs))
	for i, in := range b.Inputs {
		roots[i] = resolve(dir, in)
	}
	compiled, err := Compile(ctx, roots, files)
	if err != nil {
		return nil, err
	}
	responses := make([]*pluginpb.CodeGeneratorResponse, len(b.Plugins))
	errs := make([]error, len(b.Plugins))
	var wg sync.WaitGroup
	for i, p := range b.Plugins {
		wg.Go(func() {
			say("running %s", p.Name())
			p.Warn = func(line string) { say("%s: %s", p.Name(), line) }
			responses[i], errs[i] = p.Run(ctx, dir, compiled.Request(p.Parameter))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var written []string
	for i, p := range b.Plugins {
		paths, err := WriteFiles(resolve(dir, p.Out), responses[i])
		written = append(written, paths...)
		if err != nil {
			return written, err
		}
	}
	sort.Strings(written)
	return written, nil
}

// resolve interprets path relative to dir unless it is absolute.
func resolve(dir, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}
