package audit

import (
	"cmp"
	"context"
	"fmt"
	"go/ast"
	"go/constant"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/types/typeutil"
)

// EdgeKind says where a dependency between two services was found.
type EdgeKind string

const (
	// EdgeDeclared is in the code and in the caller's config upstreams.
	EdgeDeclared EdgeKind = "declared"
	// EdgeImplicit is in the code only: the caller dials a service its
	// config does not declare (the field guide's "bypasses the gateway").
	EdgeImplicit EdgeKind = "implicit"
	// EdgeUnused is declared in the config and dialled nowhere in the code.
	EdgeUnused EdgeKind = "unused"
)

// Node is one service of the fleet map.
type Node struct {
	// Name is the config's service name, else the main package's last
	// path element; for a service outside the audited code, the name it
	// is known by.
	Name string `json:"name"`
	// Package is the main package; empty for an external service.
	Package string `json:"package,omitempty"`
	// Serves are the gRPC services (full proto names) it registers.
	Serves []string `json:"serves,omitempty"`
	// Config is the config file the upstreams were read from.
	Config string `json:"config,omitempty"`
}

// Edge is one dependency: From calls To.
type Edge struct {
	From string   `json:"from"`
	To   string   `json:"to"`
	Kind EdgeKind `json:"kind"`
	// Via are the gRPC services (or declared upstream names) behind the
	// edge; Pos is where the code dials (first call site) or where the
	// config declares it.
	Via []string `json:"via"`
	Pos string   `json:"pos"`
}

// Graph is the fleet map: services and who calls whom, from the code and
// from the configs.
type Graph struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Problems lists the edges --strict fails on: implicit and unused ones.
func (g *Graph) Problems() []string {
	var out []string
	for _, e := range g.Edges {
		switch e.Kind {
		case EdgeImplicit:
			out = append(out, fmt.Sprintf("%s calls %s (%s at %s) but its config does not declare it: add it to upstreams", e.From, e.To, strings.Join(e.Via, ", "), e.Pos))
		case EdgeUnused:
			out = append(out, fmt.Sprintf("%s declares upstream %s (%s) but its code never dials it: remove it from upstreams", e.From, e.To, e.Pos))
		}
	}
	return out
}

// BuildGraph loads the packages of cfg (its analyzers are not run) and
// draws the fleet map. Code edges are calls to the client constructors
// protoc-gen-go-grpc generates (New<Svc>Client) from a service's main
// package and the packages of its module it imports; a service is who
// calls Register<Svc>Server. Config edges are the upstreams of the
// config.yaml nearest to the main package (its directory or a parent,
// up to its module root).
func BuildGraph(ctx context.Context, cfg Config) (*Graph, error) {
	cfg = withDefaults(cfg)
	pkgs, err := load(ctx, cfg)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*packages.Package, len(pkgs))
	for _, p := range pkgs {
		byID[p.ID] = p
	}
	type service struct {
		node     Node
		calls    map[string]string // proto service -> first call site
		declared []declaredUpstream
	}
	var services []*service
	facts := map[*packages.Package]*grpcUse{}
	for _, p := range pkgs {
		if p.Name != "main" {
			continue
		}
		s := &service{node: Node{Package: p.PkgPath, Name: filepath.Base(p.PkgPath)}, calls: map[string]string{}}
		for _, member := range moduleClosure(p, byID) {
			u, ok := facts[member]
			if !ok {
				u = inspectGRPC(cfg.Dir, member)
				facts[member] = u
			}
			s.node.Serves = append(s.node.Serves, u.serves...)
			for svc, pos := range u.calls {
				if old, ok := s.calls[svc]; !ok || pos < old {
					s.calls[svc] = pos
				}
			}
		}
		if len(s.node.Serves) == 0 && len(s.calls) == 0 {
			continue // neither serves nor calls gRPC: not on the map
		}
		slices.Sort(s.node.Serves)
		s.node.Serves = slices.Compact(s.node.Serves)
		if path, name, ups, err := findConfig(p); err != nil {
			return nil, err
		} else if path != "" {
			s.node.Config = relPath(cfg.Dir, path)
			s.node.Name = cmp.Or(name, s.node.Name)
			s.declared = ups
		}
		services = append(services, s)
	}
	if len(services) == 0 {
		return nil, noServices(cfg, len(pkgs), nil)
	}

	g := &Graph{}
	nodes := map[string]bool{}
	alias := map[string]string{} // any name a service is known by -> node name
	for _, s := range services {
		g.Nodes = append(g.Nodes, s.node)
		nodes[s.node.Name] = true
		alias[s.node.Name] = s.node.Name
		alias[filepath.Base(s.node.Package)] = s.node.Name
		for _, full := range s.node.Serves {
			alias[full] = s.node.Name
			first, _, _ := strings.Cut(full, ".")
			if _, taken := alias[first]; !taken {
				alias[first] = s.node.Name
			}
		}
	}
	external := func(name string) string {
		if !nodes[name] {
			nodes[name] = true
			g.Nodes = append(g.Nodes, Node{Name: name})
		}
		return name
	}
	for _, s := range services {
		code := map[string]*Edge{}
		for svc, pos := range s.calls {
			to, ok := alias[svc]
			if !ok {
				to = svc
			}
			if to == s.node.Name {
				continue // a client of its own server
			}
			e, ok := code[to]
			if !ok {
				e = &Edge{From: s.node.Name, To: to, Kind: EdgeImplicit, Pos: pos}
				code[to] = e
			}
			e.Via = append(e.Via, svc)
			e.Pos = min(e.Pos, pos)
		}
		for _, d := range s.declared {
			to, ok := alias[d.name]
			if !ok {
				to = d.name
			}
			if e, ok := code[to]; ok {
				e.Kind = EdgeDeclared
				continue
			}
			code[to] = &Edge{From: s.node.Name, To: to, Kind: EdgeUnused, Via: []string{d.name}, Pos: fmt.Sprintf("%s:%d", s.node.Config, d.line)}
		}
		for to, e := range code {
			external(to)
			slices.Sort(e.Via)
			g.Edges = append(g.Edges, *e)
		}
	}
	slices.SortFunc(g.Nodes, func(a, b Node) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(g.Edges, func(a, b Edge) int { return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To)) })
	return g, nil
}

// grpcUse is what one package does with generated gRPC code.
type grpcUse struct {
	serves []string          // proto services registered
	calls  map[string]string // proto service -> first call site
}

// inspectGRPC finds calls to Register<Svc>Server and New<Svc>Client
// declared in protoc-gen-go-grpc output (*_grpc.pb.go), in the code people
// wrote (generated files are skipped, as in inspect).
func inspectGRPC(dir string, p *packages.Package) *grpcUse {
	u := &grpcUse{calls: map[string]string{}}
	for _, file := range p.Syntax {
		if ast.IsGenerated(file) {
			continue
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			fn, ok := typeutil.Callee(p.TypesInfo, call).(*types.Func)
			if !ok || fn.Pkg() == nil || !strings.HasSuffix(p.Fset.Position(fn.Pos()).Filename, "_grpc.pb.go") {
				return true
			}
			if svc, ok := strings.CutPrefix(fn.Name(), "Register"); ok && strings.HasSuffix(svc, "Server") {
				if full := protoServiceName(fn.Pkg(), strings.TrimSuffix(svc, "Server")); full != "" {
					u.serves = append(u.serves, full)
				}
			}
			if svc, ok := strings.CutPrefix(fn.Name(), "New"); ok && strings.HasSuffix(svc, "Client") {
				if full := protoServiceName(fn.Pkg(), strings.TrimSuffix(svc, "Client")); full != "" {
					pos := relPosition(dir, p.Fset.Position(call.Pos()))
					if old, seen := u.calls[full]; !seen || pos < old {
						u.calls[full] = pos
					}
				}
			}
			return true
		})
	}
	return u
}

// protoServiceName reads the full proto name of the Go service goName
// from the <Svc>_<Method>_FullMethodName constants protoc-gen-go-grpc
// declares ("/pkg.Svc/Method").
func protoServiceName(pkg *types.Package, goName string) string {
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		if !strings.HasPrefix(name, goName+"_") || !strings.HasSuffix(name, "_FullMethodName") {
			continue
		}
		c, ok := scope.Lookup(name).(*types.Const)
		if !ok || c.Val().Kind() != constant.String {
			continue
		}
		full := strings.TrimPrefix(constant.StringVal(c.Val()), "/")
		if svc, _, ok := strings.Cut(full, "/"); ok {
			return svc
		}
	}
	return ""
}

type declaredUpstream struct {
	name string
	line int
}

// findConfig reads the config.yaml nearest to p's directory, up to its
// module root: its service name and upstreams.
func findConfig(p *packages.Package) (path, service string, ups []declaredUpstream, err error) {
	if len(p.GoFiles) == 0 {
		return "", "", nil, nil
	}
	dir := filepath.Dir(p.GoFiles[0])
	root := dir
	if p.Module != nil && p.Module.Dir != "" {
		root = p.Module.Dir
	}
	for {
		candidate := filepath.Join(dir, "config.yaml")
		if data, rerr := os.ReadFile(candidate); rerr == nil {
			service, ups, err = parseUpstreams(candidate, data)
			return candidate, service, ups, err
		}
		if dir == root || filepath.Dir(dir) == dir {
			return "", "", nil, nil
		}
		dir = filepath.Dir(dir)
	}
}

func parseUpstreams(path string, data []byte) (string, []declaredUpstream, error) {
	var cfg struct {
		Service   string `yaml:"service"`
		Upstreams []struct {
			Name string `yaml:"name"`
		} `yaml:"upstreams"`
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", nil, fmt.Errorf("%s: %w (check it with govscaffold validate-config)", path, err)
	}
	if err := doc.Decode(&cfg); err != nil {
		return "", nil, fmt.Errorf("%s: %w (check it with govscaffold validate-config)", path, err)
	}
	var lines []int
	if len(doc.Content) > 0 {
		for k, v := range mappingPairs(doc.Content[0]) {
			if k.Value == "upstreams" && v.Kind == yaml.SequenceNode {
				for _, item := range v.Content {
					lines = append(lines, item.Line)
				}
			}
		}
	}
	var ups []declaredUpstream
	for i, u := range cfg.Upstreams {
		if u.Name != "" && i < len(lines) {
			ups = append(ups, declaredUpstream{name: u.Name, line: lines[i]})
		}
	}
	return cfg.Service, ups, nil
}

func mappingPairs(n *yaml.Node) func(yield func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(n.Content[i], n.Content[i+1]) {
				return
			}
		}
	}
}

func relPath(dir, path string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		if rel, err := filepath.Rel(abs, path); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return path
}
