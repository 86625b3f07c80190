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
	// Inputs are proto roots (import paths), relative to the config's directory.
	Inputs []string
	// Plugins in the order they appear.
	Plugins []Plugin
}

type bufGenFile struct {
	Version string `yaml:"version"`
	Inputs  []struct {
		Directory string `yaml:"directory"`
	} `yaml:"inputs"`
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
// cannot reach.
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
	for _, in := range f.Inputs {
		if in.Directory != "" {
			cfg.Inputs = append(cfg.Inputs, in.Directory)
		}
	}
	if len(cfg.Inputs) == 0 {
		cfg.Inputs = []string{"proto"}
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

// ProtoFiles lists the .proto files under the config's inputs, as import
// paths relative to their input directory, sorted.
func (b *BufGen) ProtoFiles(dir string) ([]string, error) {
	var files []string
	for _, in := range b.Inputs {
		root := resolve(dir, in)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
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
	sort.Strings(files)
	return files, nil
}

// Generate compiles every proto of the inputs and runs every plugin,
// concurrently, writing their files relative to dir. It returns the paths
// written, sorted. Progress, when not nil, is told about each plugin.
func (b *BufGen) Generate(ctx context.Context, dir string, progress func(format string, args ...any)) ([]string, error) {
	if progress == nil {
		progress = func(string, ...any) {}
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
			progress("running %s", p.Name())
			p.Warn = func(line string) { progress("%s: %s", p.Name(), line) }
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
