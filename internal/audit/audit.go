package audit

import (
	"context"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/types/typeutil"

	"github.com/govkit/govern/lint/defaultservemux"
	"github.com/govkit/govern/lint/tickerleak"
)

const (
	governRuntime = "github.com/govkit/govern/runtime/"
	grpcPath      = "google.golang.org/grpc"
	policyPath    = "github.com/govkit/govern/runtime/policy"
	adminPath     = "github.com/govkit/govern/runtime/admin"
	servePath     = "github.com/govkit/govern/runtime/serve"
)

// Config says what to audit.
type Config struct {
	// Dir is the directory patterns are relative to; default ".".
	Dir string
	// Patterns are go/packages patterns; default "./...".
	Patterns []string
	// Analyzers run on every package of every service; typically the
	// govern-lint set.
	Analyzers []*analysis.Analyzer
	// Env for the go command; nil means the process environment.
	Env []string
	// Progress, when not nil, receives a line per slow step.
	Progress io.Writer
}

// Report is the audit of every service found.
type Report struct {
	Services []Service `json:"services"`
	// Elapsed is how long loading and analysis took.
	Elapsed time.Duration `json:"-"`
}

// Service is the audit of one main package.
type Service struct {
	// Package is the main package's import path.
	Package string `json:"package"`
	// Dir is its directory, relative to Config.Dir when possible.
	Dir string `json:"dir"`
	// GRPCServers counts grpc.NewServer calls; ServerGoverned is true when
	// the service also obtains server options or interceptors from govern.
	GRPCServers    int  `json:"grpc_servers"`
	ServerGoverned bool `json:"server_governed"`
	// GRPCClients counts grpc.NewClient/Dial/DialContext calls;
	// ClientGoverned is true when it also obtains dial options or client
	// interceptors from govern.
	GRPCClients    int  `json:"grpc_clients"`
	ClientGoverned bool `json:"client_governed"`
	// AdminWired is true when runtime/admin's handler is built.
	AdminWired bool `json:"admin_wired"`
	// Policies are the generated policy tables used, "pkg.NamePolicy".
	Policies []string `json:"policies"`
	// Findings are the analyzers' diagnostics.
	Findings []Finding `json:"findings"`
	// LoadErrors are the errors of packages of the service that do not
	// build; what could not be type-checked is not judged.
	LoadErrors []string `json:"load_errors,omitempty"`
	// Problems summarises what is missing, one phrase each; empty when the
	// service is fully governed.
	Problems []string `json:"problems"`
}

// Finding is one analyzer diagnostic.
type Finding struct {
	Analyzer string `json:"analyzer"`
	Pos      string `json:"pos"`
	Message  string `json:"message"`
}

// Governed reports whether the service has no problems.
func (s Service) Governed() bool { return len(s.Problems) == 0 }

const loadMode = packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
	packages.NeedImports | packages.NeedTypes | packages.NeedTypesSizes |
	packages.NeedSyntax | packages.NeedTypesInfo | packages.NeedModule

// Run loads the packages, finds the services and audits each.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	start := time.Now()
	cfg = withDefaults(cfg)
	say := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "audit: "+format+"\n", args...)
		}
	}
	say("loading %s", strings.Join(cfg.Patterns, " "))
	pkgs, err := load(ctx, cfg)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*packages.Package, len(pkgs))
	var healthy []*packages.Package
	for _, p := range pkgs {
		byID[p.ID] = p
		if len(p.Errors) == 0 {
			healthy = append(healthy, p)
		}
	}

	findings := map[*packages.Package][]Finding{}
	analysisErrs := map[*packages.Package][]string{}
	if len(cfg.Analyzers) > 0 {
		say("running %d analyzers on %d packages", len(cfg.Analyzers), len(healthy))
		graph, err := checker.Analyze(cfg.Analyzers, healthy, nil)
		if err != nil {
			return nil, fmt.Errorf("run analyzers: %w", err)
		}
		for act := range graph.All() {
			if !act.IsRoot {
				continue
			}
			if act.Err != nil {
				// A package whose imports do not type-check is reported
				// through its load errors; one service must not stop the
				// audit of the fleet.
				analysisErrs[act.Package] = append(analysisErrs[act.Package], fmt.Sprintf("%s not run: %v", act.Analyzer.Name, act.Err))
				continue
			}
			for _, d := range act.Diagnostics {
				findings[act.Package] = append(findings[act.Package], Finding{
					Analyzer: act.Analyzer.Name,
					Pos:      relPosition(cfg.Dir, act.Package.Fset.Position(d.Pos)),
					Message:  d.Message,
				})
			}
		}
	}

	facts := map[*packages.Package]*packageFacts{}
	report := &Report{}
	var tools []string
	for _, p := range pkgs {
		if p.Name != "main" {
			continue
		}
		svc := Service{Package: p.PkgPath, Dir: relDir(cfg.Dir, p)}
		policies := map[string]bool{}
		serves := false
		for _, member := range moduleClosure(p, byID) {
			for _, e := range member.Errors {
				if msg := loadError(cfg.Dir, e); !slices.Contains(svc.LoadErrors, msg) {
					svc.LoadErrors = append(svc.LoadErrors, msg)
				}
			}
			for _, msg := range analysisErrs[member] {
				if !slices.Contains(svc.LoadErrors, msg) {
					svc.LoadErrors = append(svc.LoadErrors, member.PkgPath+": "+msg)
				}
			}
			f, ok := facts[member]
			if !ok {
				f = inspect(member)
				facts[member] = f
			}
			svc.GRPCServers += f.servers
			svc.GRPCClients += f.clients
			svc.ServerGoverned = svc.ServerGoverned || f.serverOptions
			svc.ClientGoverned = svc.ClientGoverned || f.clientOptions
			svc.AdminWired = svc.AdminWired || f.admin
			serves = serves || f.serves
			for _, name := range f.policies {
				policies[name] = true
			}
			svc.Findings = append(svc.Findings, findings[member]...)
		}
		for name := range policies {
			svc.Policies = append(svc.Policies, name)
		}
		if !serves && len(svc.LoadErrors) == 0 {
			// A main package that starts no server is a tool (a CLI, a
			// code generator), not a service: nothing to govern.
			tools = append(tools, p.PkgPath)
			continue
		}
		sort.Strings(svc.Policies)
		sort.Slice(svc.Findings, func(i, j int) bool { return svc.Findings[i].Pos < svc.Findings[j].Pos })
		svc.Problems = problems(svc)
		report.Services = append(report.Services, svc)
	}
	if len(report.Services) == 0 {
		return nil, noServices(cfg, len(pkgs), tools)
	}
	sort.Slice(report.Services, func(i, j int) bool { return report.Services[i].Package < report.Services[j].Package })
	report.Elapsed = time.Since(start)
	say("audited %d services in %s", len(report.Services), report.Elapsed.Round(time.Millisecond))
	return report, nil
}

func problems(s Service) []string {
	var out []string
	if len(s.LoadErrors) > 0 {
		out = append(out, fmt.Sprintf("does not build (%s)", s.LoadErrors[0]))
	}
	if s.GRPCServers > 0 && !s.ServerGoverned {
		out = append(out, "gRPC server without govern options")
	}
	if s.GRPCClients > 0 && !s.ClientGoverned {
		out = append(out, "gRPC client without govern dial options")
	}
	if !s.AdminWired {
		out = append(out, "no admin endpoints (runtime/admin)")
	}
	if len(s.Policies) == 0 && s.GRPCServers > 0 {
		out = append(out, "no generated policy table")
	}
	if n := len(s.Findings); n > 0 {
		out = append(out, fmt.Sprintf("%d govern-lint finding(s)", n))
	}
	return out
}

// moduleClosure is p and every loaded package of p's module that p
// imports, directly or not.
func moduleClosure(p *packages.Package, byID map[string]*packages.Package) []*packages.Package {
	module := ""
	if p.Module != nil {
		module = p.Module.Path
	}
	seen := map[string]bool{p.ID: true}
	out := []*packages.Package{p}
	for i := 0; i < len(out); i++ {
		for _, imp := range out[i].Imports {
			dep, ok := byID[imp.ID]
			if !ok || seen[dep.ID] || dep.Module == nil || dep.Module.Path != module {
				continue
			}
			seen[dep.ID] = true
			out = append(out, dep)
		}
	}
	return out
}

type packageFacts struct {
	servers, clients             int
	serverOptions, clientOptions bool
	admin                        bool
	// serves is true when the package starts a server (gRPC, HTTP,
	// runtime/serve or the admin endpoints): what makes a main package a
	// service rather than a command-line tool.
	serves   bool
	policies []string
}

// inspect finds, through type information, what one package wires.
func inspect(p *packages.Package) *packageFacts {
	f := &packageFacts{}
	info := p.TypesInfo
	// Connections a gateway uses to reach this process's own gRPC server
	// are not clients of other services: the server side governs those
	// calls. They are found as variables assigned from grpc.NewClient and
	// passed to a Register...Gateway / Register...Handler function or to
	// runtime/gateway.
	dialed := map[types.Object]bool{}
	loopback := map[types.Object]bool{}
	for _, file := range p.Syntax {
		// Generated code is wiring the service did not choose (a gateway's
		// RegisterXHandlerFromEndpoint dials on its own); judge the code
		// people wrote.
		if ast.IsGenerated(file) {
			continue
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				if len(n.Rhs) == 1 && len(n.Lhs) >= 1 {
					if call, ok := n.Rhs[0].(*ast.CallExpr); ok && isGRPCDial(info, call) {
						if id, ok := n.Lhs[0].(*ast.Ident); ok && info.ObjectOf(id) != nil {
							dialed[info.ObjectOf(id)] = true
						}
					}
				}
			case *ast.CallExpr:
				fn, ok := typeutil.Callee(info, n).(*types.Func)
				if !ok || fn.Pkg() == nil {
					return true
				}
				path := fn.Pkg().Path()
				if isGatewayRegistration(fn) {
					for _, arg := range n.Args {
						if id, ok := arg.(*ast.Ident); ok && info.Uses[id] != nil {
							loopback[info.Uses[id]] = true
						}
					}
				}
				switch {
				case path == grpcPath && fn.Name() == "NewServer":
					f.servers++
					f.serves = true
				case isHTTPServe(fn) || path == servePath:
					f.serves = true
				case isGRPCDial(info, n):
					f.clients++
				case path == adminPath && fn.Name() == "New":
					f.admin = true
					f.serves = true
				case strings.HasPrefix(path, governRuntime) || declaredInGovernFile(p, fn):
					server, client := grpcOptionResults(fn)
					f.serverOptions = f.serverOptions || server
					f.clientOptions = f.clientOptions || client
					// Generated <Svc>Interceptors wrap <Svc>Policy: using
					// them uses the table.
					if base, ok := strings.CutSuffix(fn.Name(), "Interceptors"); ok && declaredInGovernFile(p, fn) {
						if name, ok := policyTable(p, fn.Pkg().Scope().Lookup(base+"Policy")); ok && !slices.Contains(f.policies, name) {
							f.policies = append(f.policies, name)
						}
					}
				}
			case *ast.Ident:
				if name, ok := policyTable(p, info.Uses[n]); ok && !slices.Contains(f.policies, name) {
					f.policies = append(f.policies, name)
				}
			}
			return true
		})
	}
	for obj := range dialed {
		if loopback[obj] {
			f.clients--
		}
	}
	return f
}

// isHTTPServe reports whether fn starts a net/http server:
// http.ListenAndServe[TLS], http.Serve[TLS], or those methods of
// *http.Server.
func isHTTPServe(fn *types.Func) bool {
	if fn.Pkg().Path() != "net/http" {
		return false
	}
	switch fn.Name() {
	case "ListenAndServe", "ListenAndServeTLS", "Serve", "ServeTLS":
		return true
	}
	return false
}

// declaredInGovernFile reports whether fn is generated by protoc-gen-govern
// (SvcInterceptors and the like).
func declaredInGovernFile(p *packages.Package, fn *types.Func) bool {
	return strings.HasSuffix(p.Fset.Position(fn.Pos()).Filename, "_govern.pb.go")
}

func isGRPCDial(info *types.Info, call *ast.CallExpr) bool {
	fn, ok := typeutil.Callee(info, call).(*types.Func)
	return ok && fn.Pkg() != nil && fn.Pkg().Path() == grpcPath && slices.Contains([]string{"NewClient", "Dial", "DialContext"}, fn.Name())
}

// isGatewayRegistration reports whether fn mounts grpc-gateway handlers on
// a connection: runtime/gateway's functions, or a generated
// Register<Svc>Gateway / Register<Svc>Handler.
func isGatewayRegistration(fn *types.Func) bool {
	if fn.Pkg().Path() == governRuntime+"gateway" {
		return true
	}
	name := fn.Name()
	return strings.HasPrefix(name, "Register") && (strings.HasSuffix(name, "Gateway") || strings.HasSuffix(name, "Handler"))
}

// grpcOptionResults reports whether fn returns server-side or client-side
// gRPC options or interceptors.
func grpcOptionResults(fn *types.Func) (server, client bool) {
	sig, ok := fn.Type().(*types.Signature)
	if !ok {
		return false, false
	}
	for v := range sig.Results().Variables() {
		t := v.Type()
		if s, ok := t.(*types.Slice); ok {
			t = s.Elem()
		}
		named, ok := t.(*types.Named)
		if !ok || named.Obj().Pkg() == nil || named.Obj().Pkg().Path() != grpcPath {
			continue
		}
		switch named.Obj().Name() {
		case "ServerOption", "UnaryServerInterceptor", "StreamServerInterceptor":
			server = true
		case "DialOption", "UnaryClientInterceptor", "StreamClientInterceptor":
			client = true
		}
	}
	return server, client
}

// policyTable reports whether obj is a package-level policy.Table declared
// in a generated *_govern.pb.go file, and names it "pkg.Var".
func policyTable(p *packages.Package, obj types.Object) (string, bool) {
	v, ok := obj.(*types.Var)
	if !ok || v.Pkg() == nil || v.Parent() != v.Pkg().Scope() {
		return "", false
	}
	named, ok := v.Type().(*types.Named)
	if !ok || named.Obj().Name() != "Table" || named.Obj().Pkg() == nil || named.Obj().Pkg().Path() != policyPath {
		return "", false
	}
	// The declaring file is known for packages with syntax; for imported
	// packages the position still names the file (from export data).
	file := p.Fset.Position(v.Pos()).Filename
	if file != "" && !strings.HasSuffix(file, "_govern.pb.go") {
		return "", false
	}
	return v.Pkg().Name() + "." + v.Name(), true
}

func relPosition(dir string, pos token.Position) string {
	name := pos.Filename
	if abs, err := filepath.Abs(dir); err == nil {
		if rel, err := filepath.Rel(abs, name); err == nil && !strings.HasPrefix(rel, "..") {
			name = rel
		}
	}
	return fmt.Sprintf("%s:%d:%d", filepath.ToSlash(name), pos.Line, pos.Column)
}

func relDir(dir string, p *packages.Package) string {
	if len(p.GoFiles) == 0 {
		return ""
	}
	d := filepath.Dir(p.GoFiles[0])
	if abs, err := filepath.Abs(dir); err == nil {
		if rel, err := filepath.Rel(abs, d); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return d
}

// DefaultAnalyzers is the govern-lint set audit runs when none is given.
func DefaultAnalyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{defaultservemux.Analyzer, tickerleak.Analyzer}
}

// loadError renders a package error on one line with a position relative
// to dir: go list wraps compiler errors in "# pkg" headers.
func loadError(dir string, e packages.Error) string {
	lines := strings.Split(strings.TrimSpace(e.Msg), "\n")
	msg := strings.TrimSpace(lines[len(lines)-1])
	if e.Pos == "" || e.Pos == "-" {
		return msg
	}
	pos := e.Pos
	if abs, err := filepath.Abs(dir); err == nil {
		if rel, err := filepath.Rel(abs, pos); err == nil && !strings.HasPrefix(rel, "..") {
			pos = filepath.ToSlash(rel)
		}
	}
	if strings.HasPrefix(msg, pos) {
		return msg
	}
	return pos + ": " + msg
}
