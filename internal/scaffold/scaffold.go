package scaffold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/govkit/govern/internal/protodriver"
)

// GovernModule is the module path of the govern toolkit.
const GovernModule = "github.com/govkit/govern"

// Options configure NewService.
type Options struct {
	// Name is the service name: lower-case letters and digits, starting
	// with a letter ("payment"). It names the proto package, the binary and
	// the Kubernetes objects.
	Name string
	// Module is the Go module path; default "example.com/<Name>".
	Module string
	// OutDir is where the service is written; default "./<Name>".
	OutDir string
	// Tier is the SLA tier of the service: gold, silver (default) or bronze.
	Tier string
	// HTTP serves the grpc-gateway routes beside gRPC.
	HTTP bool
	// Redis uses the Redis idempotency store instead of the in-memory one.
	Redis bool
	// Registry is the service-discovery backend the binary links: etcd,
	// consul or dns; empty links none and dials fixed addresses. The
	// config's discovery.registry must name the same backend.
	Registry string
	// Force overwrites existing files.
	Force bool
	// TemplateDir overrides templates; default OutDir/.govscaffold/templates
	// when that exists.
	TemplateDir string
	// GovernPath is a local govern checkout for a go.mod replace directive;
	// detected from the working directory when empty.
	GovernPath string
	// NoGenerate writes the files but skips code generation (run
	// `govscaffold generate` later).
	NoGenerate bool
	// Progress receives one line per slow step; nil discards them.
	Progress io.Writer
	// FromOpenAPI makes an HTTP-first service from this OpenAPI document
	// (YAML or JSON) instead of a proto-first one: its x-govern
	// extensions are validated and resolved, and the service is generated
	// with oapi-codegen (see NewOpenAPIService).
	FromOpenAPI string
}

// Result says what NewService did.
type Result struct {
	// Dir is the service root.
	Dir string
	// Written are the template-rendered files, relative to Dir.
	Written []string
	// Generated are the plugin outputs, relative to Dir.
	Generated []string
}

var serviceName = regexp.MustCompile(`^[a-z][a-z0-9]{0,39}$`)

// NewService renders the templates into opts.OutDir and generates the
// code of the service's protos.
func NewService(ctx context.Context, opts Options) (*Result, error) {
	if opts.FromOpenAPI != "" {
		return NewOpenAPIService(opts)
	}
	data, err := newData(opts)
	if err != nil {
		return nil, err
	}
	progress := progressFunc(opts.Progress)
	dir, templateDir := outputDirs(opts)
	set, err := NewTemplateSet(templateDir)
	if err != nil {
		return nil, err
	}
	if templateDir != "" {
		progress("using template overrides from %s", templateDir)
	}
	files, err := set.Render(data)
	if err != nil {
		return nil, err
	}
	if !opts.Force {
		if err := refuseOverwrite(dir, files); err != nil {
			return nil, err
		}
	}
	res := &Result{Dir: dir}
	progress("writing %d files to %s", len(files), dir)
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(f.Path)), f.Content, true); err != nil {
			return res, err
		}
		res.Written = append(res.Written, f.Path)
	}
	if data.governSum != nil {
		sum := filepath.Join(dir, "go.sum")
		if _, err := os.Stat(sum); err != nil || opts.Force {
			if err := os.WriteFile(sum, data.governSum, 0o644); err != nil {
				return res, fmt.Errorf("write go.sum: %w", err)
			}
			res.Written = append(res.Written, "go.sum")
		}
	}
	if opts.NoGenerate {
		return res, nil
	}
	res.Generated, err = Generate(ctx, dir, opts.Progress)
	return res, err
}

// Generate regenerates the code of the service at dir from its protos, as
// configured by its buf.gen.yaml, and returns the files written (relative
// to dir). It only writes plugin outputs and refuses to replace a file that
// is not marked generated.
func Generate(ctx context.Context, dir string, progress io.Writer) ([]string, error) {
	say := progressFunc(progress)
	if spec, ok := openAPISpec(dir); ok {
		return generateOpenAPI(dir, spec, say)
	}
	cfg, err := protodriver.LoadBufGen(dir)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	say("generating code from %s with %s", strings.Join(cfg.Inputs, ", "), describePlugins(cfg.Plugins))
	written, err := cfg.Generate(ctx, dir, say)
	rel := make([]string, 0, len(written))
	for _, w := range written {
		r, rerr := filepath.Rel(dir, w)
		if rerr != nil {
			r = w
		}
		rel = append(rel, filepath.ToSlash(r))
	}
	if err != nil {
		return rel, fmt.Errorf("generate: %w", err)
	}
	say("generated %d files in %s", len(rel), time.Since(start).Round(10*time.Millisecond))
	return rel, nil
}

// describePlugins says how the plugins run: `go tool` plugins are built
// on their first run, other commands are taken from PATH as they are.
func describePlugins(plugins []protodriver.Plugin) string {
	cmds := make([]string, len(plugins))
	goTool := false
	for i, p := range plugins {
		cmds[i] = strings.Join(p.Command, " ")
		goTool = goTool || p.GoTool()
	}
	s := strings.Join(cmds, ", ")
	if goTool {
		s += " (the first `go tool` run builds its plugin)"
	}
	return s
}

func progressFunc(w io.Writer) func(format string, args ...any) {
	if w == nil {
		return func(string, ...any) {}
	}
	return func(format string, args ...any) {
		fmt.Fprintf(w, "govscaffold: "+format+"\n", args...)
	}
}

// Data is what templates see.
type Data struct {
	// Name is the service name ("payment").
	Name string
	// GoName is Name with an upper-case first letter ("Payment").
	GoName string
	// Module is the service's Go module path.
	Module string
	// Service is the gRPC service name ("PaymentService").
	Service string
	// ProtoPackage is "payment.v1".
	ProtoPackage string
	// GoPackagePath is the import path of the generated code.
	GoPackagePath string
	// GoPackageName is its package name ("paymentv1").
	GoPackageName string
	// Tier is the proto enum value ("TIER_SILVER"); TierName the label ("silver").
	Tier, TierName string
	// HTTP serves the gateway; Redis uses the Redis idempotency store.
	HTTP, Redis bool
	// Registry is the discovery backend linked (etcd, consul, dns) or "".
	Registry string
	// GovernModule is "github.com/govkit/govern".
	GovernModule string
	// GovernVersion is the version required in go.mod.
	GovernVersion string
	// GovernReplace is the local checkout for a replace directive, or "".
	GovernReplace string
	// GoVersion is the go directive of the new go.mod.
	GoVersion string
	// Requires are copied from govern's go.mod so that builds resolve from
	// the module cache with no network.
	Requires []Require
	// OpenAPI is the document's file name in the service root ("api.yaml")
	// of an HTTP-first service; empty for a proto-first one.
	OpenAPI string
	// GRPCPort, HTTPPort and AdminPort are the default listen ports.
	GRPCPort, HTTPPort, AdminPort int

	governSum []byte
}

// Require is one go.mod requirement.
type Require struct{ Path, Version string }

var tiers = map[string]string{"gold": "TIER_GOLD", "silver": "TIER_SILVER", "bronze": "TIER_BRONZE"}

func newData(opts Options) (*Data, error) {
	if !serviceName.MatchString(opts.Name) {
		return nil, fmt.Errorf("service name %q is not valid: use lower-case letters and digits starting with a letter, such as payment or orders2", opts.Name)
	}
	tierName := opts.Tier
	if tierName == "" {
		tierName = "silver"
	}
	tier, ok := tiers[strings.ToLower(tierName)]
	if !ok {
		return nil, fmt.Errorf("tier %q is not known: use gold, silver or bronze", opts.Tier)
	}
	switch opts.Registry {
	case "", "etcd", "consul", "dns":
	default:
		return nil, fmt.Errorf("registry %q is not known: use etcd, consul or dns, or leave it out to dial fixed addresses", opts.Registry)
	}
	module := opts.Module
	if module == "" {
		module = "example.com/" + opts.Name
	}
	if err := checkModulePath(module); err != nil {
		return nil, err
	}
	goName := strings.ToUpper(opts.Name[:1]) + opts.Name[1:]
	d := &Data{
		Name:          opts.Name,
		GoName:        goName,
		Module:        module,
		Service:       goName + "Service",
		ProtoPackage:  opts.Name + ".v1",
		GoPackagePath: module + "/gen/" + opts.Name + "/v1",
		GoPackageName: opts.Name + "v1",
		Tier:          tier,
		TierName:      strings.ToLower(tierName),
		HTTP:          opts.HTTP,
		Redis:         opts.Redis,
		Registry:      opts.Registry,
		GovernModule:  GovernModule,
		GoVersion:     "1.26.0",
		GRPCPort:      9090,
		HTTPPort:      8080,
		AdminPort:     9091,
	}
	if err := d.resolveGovern(opts.GovernPath); err != nil {
		return nil, err
	}
	return d, nil
}

func checkModulePath(module string) error {
	if strings.ContainsAny(module, " \t\\") || strings.HasPrefix(module, "/") || strings.HasSuffix(module, "/") {
		return fmt.Errorf("module path %q is not valid: use a path like example.com/payment", module)
	}
	return nil
}

// resolveGovern finds how the new service reaches govern: a local checkout
// (explicit, or the one the working directory is inside) gives a replace
// directive and the checkout's go.mod requirements and go.sum; otherwise
// the version this binary was built from is required as published.
func (d *Data) resolveGovern(explicit string) error {
	root := explicit
	if root == "" {
		wd, err := os.Getwd()
		if err == nil {
			root = findGovernCheckout(wd)
		}
	}
	if root == "" {
		info, ok := debug.ReadBuildInfo()
		if ok {
			for _, dep := range append([]*debug.Module{&info.Main}, info.Deps...) {
				if dep.Path == GovernModule && strings.HasPrefix(dep.Version, "v") {
					d.GovernVersion = dep.Version
					return nil
				}
			}
		}
		return errors.New("cannot find the govern module: run govscaffold from inside a govern checkout or pass --govern-path /path/to/govern (the module is not published yet)")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("govern path: %w", err)
	}
	gomod, err := os.ReadFile(filepath.Join(abs, "go.mod"))
	if err != nil {
		return fmt.Errorf("--govern-path %s: %w (point it at the root of a govern checkout)", abs, err)
	}
	mf, err := modfile.ParseLax(filepath.Join(abs, "go.mod"), gomod, nil)
	if err != nil {
		return fmt.Errorf("parse govern go.mod: %w", err)
	}
	if mf.Module == nil || mf.Module.Mod.Path != GovernModule {
		return fmt.Errorf("%s is not a govern checkout (its go.mod is not module %s)", abs, GovernModule)
	}
	d.GovernReplace = abs
	d.GovernVersion = "v0.0.0-00010101000000-000000000000"
	if mf.Go != nil {
		d.GoVersion = mf.Go.Version
	}
	for _, r := range mf.Require {
		d.Requires = append(d.Requires, Require{Path: r.Mod.Path, Version: r.Mod.Version})
	}
	slices.SortFunc(d.Requires, func(a, b Require) int { return strings.Compare(a.Path, b.Path) })
	if sum, err := os.ReadFile(filepath.Join(abs, "go.sum")); err == nil {
		d.governSum = sum
	}
	return nil
}

// findGovernCheckout walks up from dir to the first go.mod; it returns that
// directory when the go.mod declares the govern module.
func findGovernCheckout(dir string) string {
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			if modfile.ModulePath(data) == GovernModule {
				return dir
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// isGeneratedFile reports whether the file at path carries the generated marker.
func isGeneratedFile(path string) bool {
	data, err := os.ReadFile(path)
	return err == nil && protodriver.IsGenerated(bytes.Clone(data))
}

// outputDirs returns where a new service is written (--out, else its name)
// and the template overrides to use: --template-dir, else the service's own
// .govscaffold/templates when it exists, else none (the embedded set).
func outputDirs(opts Options) (dir, templateDir string) {
	dir = opts.OutDir
	if dir == "" {
		dir = opts.Name
	}
	templateDir = opts.TemplateDir
	if templateDir == "" {
		if st, err := os.Stat(filepath.Join(dir, OverrideDirName)); err == nil && st.IsDir() {
			templateDir = filepath.Join(dir, OverrideDirName)
		}
	}
	return dir, templateDir
}

// refuseOverwrite fails, naming them, when files already exist under dir:
// a scaffold never replaces a user's files without --force.
func refuseOverwrite(dir string, files []File) error {
	var existing []string
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Path))); err == nil {
			existing = append(existing, f.Path)
		}
	}
	if len(existing) == 0 {
		return nil
	}
	return fmt.Errorf("refusing to overwrite %d existing file(s) in %s (%s): pass --force to replace them, choose another --out, or run `govscaffold generate` to refresh only generated code: %w",
		len(existing), dir, strings.Join(existing, ", "), fs.ErrExist)
}
