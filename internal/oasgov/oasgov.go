package oasgov

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"github.com/govkit/govern/internal/govgen"
	"github.com/govkit/govern/runtime/httpgovern"
	"github.com/govkit/govern/runtime/policy"
)

// API is the governance of one OpenAPI document.
type API struct {
	// File is the document's path as given to Load or Parse.
	File string
	// Doc is the document as kin-openapi loaded it.
	Doc *openapi3.T
	// Operations lists every operation in document order.
	Operations []*Operation
	// Table is the resolved policy of every operation, keyed by
	// operationId.
	Table policy.Table
}

// Operation is one HTTP operation and its resolved policy.
type Operation struct {
	// ID is the operationId.
	ID string
	// Method is the upper-case HTTP method, "POST".
	Method string
	// Path is the path template as written, "/orders/{id}".
	Path string
	// Policy is the resolved policy; Policy.FullMethod is the name the
	// runtime keys its state by: the grpc_method the operation shares, or
	// the operationId.
	Policy *policy.Method
	// KeyFields are the sources of the derived idempotency key, in the
	// order of idempotency.key_fields.
	KeyFields []httpgovern.KeyField
}

// Routes returns the operations as policy routes, the middleware's input:
// the pattern is the path template, Go 1.22 ServeMux syntax.
func (a *API) Routes() []policy.Route {
	out := make([]policy.Route, len(a.Operations))
	for i, op := range a.Operations {
		out[i] = policy.Route{HTTPMethod: op.Method, Pattern: op.Path, FullMethod: op.ID, Policy: op.Policy}
	}
	return out
}

// Load reads and resolves the OpenAPI document at path (YAML or JSON).
func Load(path string) (*API, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the OpenAPI document: %w", err)
	}
	return Parse(path, data)
}

// Parse resolves the governance of an OpenAPI document held in data; name
// is the file name problems are reported against. Problems are returned as
// govgen.Diagnostics: the document's OpenAPI problems alone when it is not
// valid OpenAPI, else every governance problem.
func Parse(name string, data []byte) (*API, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, govgen.Diagnostics{syntaxDiagnostic(name, err)}
	}
	top := deref(documentRoot(&root))
	if top == nil || top.Kind != yaml.MappingNode {
		return nil, govgen.Diagnostics{{File: name, Line: 1, Col: 1, Message: "the document is not an OpenAPI object: start it with openapi: 3.0.3, info and paths"}}
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, govgen.Diagnostics{loadDiagnostic(name, top, err)}
	}
	if diags := validate(name, top, doc); len(diags) > 0 {
		return nil, diags
	}
	r := &resolver{
		api:   &API{File: name, Doc: doc, Table: policy.Table{}},
		locs:  locations{},
		title: doc.Info.Title,
	}
	r.diag = govgen.NewDiagnoser(name, r.locs.locate)
	r.dec = &decoder{diag: r.diag, locs: r.locs}
	r.resolve(top)
	if diags := r.diag.Diagnostics(); len(diags) > 0 {
		return nil, diags
	}
	return r.api, nil
}

func documentRoot(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0]
	}
	return n
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// syntaxDiagnostic locates a YAML or JSON syntax error by the line yaml.v3
// names.
func syntaxDiagnostic(name string, err error) govgen.Diagnostic {
	line := 1
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return govgen.Diagnostic{File: name, Line: line, Col: 1, Message: "the document is not valid YAML or JSON: " + msg}
}

// child returns the value node of key in mapping n.
func child(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], deref(n.Content[i+1])
		}
	}
	return nil, nil
}

// httpMethods are the operation keys of a path item, in the order the
// OpenAPI specification lists them.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// idempotencyLevel is what the HTTP method says about retrying a call
// (RFC 9110 section 9.2): safe methods have no side effects, PUT and DELETE
// are idempotent, POST and PATCH are neither.
func idempotencyLevel(method string) policy.IdempotencyLevel {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return policy.NoSideEffects
	case "PUT", "DELETE":
		return policy.Idempotent
	}
	return policy.IdempotencyUnknown
}

type resolver struct {
	api   *API
	diag  *govgen.Diagnoser
	dec   *decoder
	locs  locations
	title string
	next  int32 // scope path numbers
}

func (r *resolver) scope(level string, owner *yaml.Node, extra ...string) (govgen.Scope, map[string]*yaml.Node) {
	r.next++
	s := govgen.Scope{Level: level, Path: []int32{r.next}}
	r.locs[pathKey(s.Path)] = owner
	if _, x := child(owner, Extension); x != nil {
		var extras map[string]*yaml.Node
		s.Policy, extras = r.dec.policy(x, s.Path, extra...)
		govgen.CheckPolicy(r.diag, s)
		return s, extras
	}
	return s, nil
}

var grpcMethodName = regexp.MustCompile(`^/[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/[A-Za-z_][A-Za-z0-9_]*$`)

func (r *resolver) resolve(top *yaml.Node) {
	fileScope, _ := r.scope("file", top)
	_, paths := child(top, "paths")
	if paths == nil {
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(paths.Content); i += 2 {
		path, item := paths.Content[i].Value, deref(paths.Content[i+1])
		pathScope, _ := r.scope("service", item)
		kinItem := r.api.Doc.Paths.Value(path)
		for j := 0; kinItem != nil && item.Kind == yaml.MappingNode && j+1 < len(item.Content); j += 2 {
			method := item.Content[j].Value
			if !slices.Contains(httpMethods, method) {
				continue
			}
			kinOp := kinItem.GetOperation(strings.ToUpper(method))
			r.operation(strings.ToUpper(method), path, deref(item.Content[j+1]), kinItem, kinOp, []govgen.Scope{pathScope, fileScope}, seen)
		}
	}
}

func (r *resolver) operation(method, path string, opNode *yaml.Node, item *openapi3.PathItem, op *openapi3.Operation, outer []govgen.Scope, seen map[string]*yaml.Node) {
	opScope, extras := r.scope("method", opNode, GRPCMethodField, IdempotencyLevelField)
	at := opScope.Path
	id := op.OperationID
	if id == "" {
		r.diag.Errorf(at, "operation %s %s has no operationId: add one (govern keys its policy table and metrics by it, and oapi-codegen names the handler after it)", method, path)
		return
	}
	if prev := seen[id]; prev != nil {
		r.diag.Errorf(at, "operationId %q is used twice (first at line %d): give every operation its own", id, prev.Line)
		return
	}
	seen[id] = opNode
	fullMethod, service := id, r.title
	if g := extras[GRPCMethodField]; g != nil {
		if g.Kind != yaml.ScalarNode || !grpcMethodName.MatchString(g.Value) {
			r.dec.errorAt(g, at, "x-govern.grpc_method %q of %s is not a gRPC full method name: write it as \"/package.Service/Method\", the method whose limits and idempotency keys this operation shares", g.Value, id)
		} else {
			fullMethod = g.Value
			service = strings.TrimPrefix(fullMethod[:strings.LastIndexByte(fullMethod, '/')], "/")
		}
	}
	level := idempotencyLevel(method)
	if l := extras[IdempotencyLevelField]; l != nil {
		switch l.Value {
		case "IDEMPOTENT":
			level = policy.Idempotent
		case "NO_SIDE_EFFECTS":
			level = policy.NoSideEffects
		case "IDEMPOTENCY_UNKNOWN":
			level = policy.IdempotencyUnknown
		default:
			r.dec.errorAt(l, at, "x-govern.idempotency_level %q of %s is not a level: use IDEMPOTENT (repeating the call changes nothing more), NO_SIDE_EFFECTS (a read) or IDEMPOTENCY_UNKNOWN (neither, whatever the HTTP method says)", l.Value, id)
		}
	}
	kf := &keyFields{op: op, item: item, method: method, id: id, diag: r.diag}
	pm := govgen.ResolvePolicy(r.diag, govgen.Operation{
		FullMethod:       fullMethod,
		Service:          service,
		Name:             id,
		IdempotencyLevel: level,
		RetryFix:         "an HTTP " + method + " is neither safe nor idempotent; add an idempotency block to its x-govern (a keyed call is safe to retry), or remove the retry",
		KeyField:         kf.resolve,
	}, append([]govgen.Scope{opScope}, outer...))
	if pm.Idempotency != nil && len(kf.fields) > 0 {
		pm.Idempotency.Key = httpgovern.KeyFunc(kf.fields...)
	}
	r.api.Operations = append(r.api.Operations, &Operation{ID: id, Method: method, Path: path, Policy: pm, KeyFields: kf.fields})
	r.api.Table[id] = pm
}

// validate reports the document's OpenAPI problems, located at the
// operation, path or component they belong to.
func validate(name string, top *yaml.Node, doc *openapi3.T) govgen.Diagnostics {
	ctx := context.Background()
	if doc.Validate(ctx) == nil {
		return nil
	}
	var out govgen.Diagnostics
	add := func(n *yaml.Node, where string, err error) {
		line, col := 1, 1
		if n != nil {
			line, col = n.Line, n.Column
		}
		out = append(out, govgen.Diagnostic{File: name, Line: line, Col: col, Message: "invalid OpenAPI " + where + ": " + err.Error() + " (fix it so the document passes OpenAPI validation)"})
	}
	if doc.Info == nil {
		add(top, "document", fmt.Errorf("info is missing"))
	} else if err := doc.Info.Validate(ctx); err != nil {
		_, n := child(top, "info")
		add(n, "info", err)
	}
	_, paths := child(top, "paths")
	for i := 0; paths != nil && i+1 < len(paths.Content); i += 2 {
		path, itemNode := paths.Content[i].Value, deref(paths.Content[i+1])
		item := doc.Paths.Value(path)
		if item == nil {
			continue
		}
		for _, method := range httpMethods {
			k, opNode := child(itemNode, method)
			op := item.GetOperation(strings.ToUpper(method))
			if opNode == nil || op == nil {
				continue
			}
			if err := op.Validate(ctx); err != nil {
				add(k, strings.ToUpper(method)+" "+path, err)
				continue
			}
			// Checks spanning the path and the operation (path parameters).
			one := openapi3.NewPaths(openapi3.WithPath(path, &openapi3.PathItem{Parameters: item.Parameters}))
			one.Value(path).SetOperation(strings.ToUpper(method), op)
			if err := one.Validate(ctx); err != nil {
				add(k, strings.ToUpper(method)+" "+path, errors.New(strings.TrimPrefix(err.Error(), "invalid paths: ")))
			}
		}
	}
	if _, comps := child(top, "components"); comps != nil {
		_, schemas := child(comps, "schemas")
		for name, ref := range doc.Components.Schemas {
			if err := ref.Validate(ctx); err != nil {
				k, _ := child(schemas, name)
				add(k, "schema "+name, err)
			}
		}
	}
	if len(out) == 0 {
		add(top, "document", doc.Validate(ctx))
	}
	slices.SortStableFunc(out, func(a, b govgen.Diagnostic) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return out
}

// loadDiagnostic reports a document kin-openapi cannot load.
func loadDiagnostic(name string, top *yaml.Node, err error) govgen.Diagnostic {
	return govgen.Diagnostic{File: name, Line: top.Line, Col: top.Column, Message: "the document cannot be loaded as OpenAPI: " + err.Error() + " (fix the document's structure; external $refs are not followed)"}
}
