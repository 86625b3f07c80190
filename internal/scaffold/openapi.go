package scaffold

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/govkit/govern/internal/oasgen"
	"github.com/govkit/govern/internal/oasgov"
)

// apiDir is where an HTTP-first service's generated API package lives.
const apiDir = "internal/api"

// specNames are the document names an HTTP-first service root may hold.
var specNames = []string{"api.yaml", "api.yml", "api.json"}

// NewOpenAPIService writes an HTTP-first service from opts.FromOpenAPI: the
// document (copied to the service root as api.yaml or api.json), go.mod,
// cmd/NAME (explicit mux, governing middleware, admin endpoints, graceful
// shutdown) and its test, the generated internal/api package, and
// internal/service, the user's code, with an operation stub answering 501
// per operation. A document with OpenAPI or x-govern problems writes
// nothing and returns every problem.
func NewOpenAPIService(opts Options) (*Result, error) {
	spec, err := os.ReadFile(opts.FromOpenAPI)
	if err != nil {
		return nil, fmt.Errorf("reading --from-openapi: %w", err)
	}
	specName := "api.yaml"
	if strings.EqualFold(filepath.Ext(opts.FromOpenAPI), ".json") {
		specName = "api.json"
	}
	// Problems are reported against the document as the user named it.
	if _, err := oasgov.Parse(opts.FromOpenAPI, spec); err != nil {
		return nil, err
	}
	generated, err := oasgen.Generate(spec, oasgen.Options{Package: "api", Source: specName})
	if err != nil {
		return nil, err
	}
	data, err := newData(opts)
	if err != nil {
		return nil, err
	}
	data.OpenAPI = specName
	dir, templateDir := outputDirs(opts)
	set, err := newOpenAPITemplateSet(templateDir)
	if err != nil {
		return nil, err
	}
	files, err := set.Render(data)
	if err != nil {
		return nil, err
	}
	stubs, err := serviceStubs(data.Module+"/"+apiDir, generated[oasgen.ServerFile])
	if err != nil {
		return nil, err
	}
	files = append(files, File{Path: specName, Content: spec}, File{Path: "internal/service/service.go", Content: stubs})
	for name, content := range generated {
		files = append(files, File{Path: apiDir + "/" + name, Content: content})
	}
	if !opts.Force {
		if err := refuseOverwrite(dir, files); err != nil {
			return nil, err
		}
	}
	res := &Result{Dir: dir}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(f.Path)), f.Content, true); err != nil {
			return res, err
		}
		if strings.HasPrefix(f.Path, apiDir+"/") {
			res.Generated = append(res.Generated, f.Path)
		} else {
			res.Written = append(res.Written, f.Path)
		}
	}
	if data.governSum != nil {
		if err := os.WriteFile(filepath.Join(dir, "go.sum"), data.governSum, 0o644); err != nil {
			return res, fmt.Errorf("write go.sum: %w", err)
		}
		res.Written = append(res.Written, "go.sum")
	}
	slices.Sort(res.Generated)
	return res, nil
}

// openAPISpec finds the document of an HTTP-first service at dir: one of
// specNames beside a generated internal/api.
func openAPISpec(dir string) (string, bool) {
	if _, err := os.Stat(filepath.Join(dir, apiDir, oasgen.PolicyFile)); err != nil {
		return "", false
	}
	for _, n := range specNames {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return n, true
		}
	}
	return "", false
}

// generateOpenAPI rewrites the generated API package of the service at dir
// from its document, and nothing else: a file there without the generated
// marker is never replaced.
func generateOpenAPI(dir, specName string, say func(string, ...any)) ([]string, error) {
	spec, err := os.ReadFile(filepath.Join(dir, specName))
	if err != nil {
		return nil, err
	}
	say("generating %s from %s", apiDir, specName)
	files, err := oasgen.Generate(spec, oasgen.Options{Package: "api", Source: specName})
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	var written []string
	for _, name := range []string{oasgen.ServerFile, oasgen.PolicyFile} {
		rel := apiDir + "/" + name
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if _, err := os.Stat(p); err == nil && !isGeneratedFile(p) {
			return written, fmt.Errorf("generate: %s has no \"Code generated ... DO NOT EDIT.\" line, so it is yours: move it out of %s, or delete it to let generate write it", rel, apiDir)
		}
		if err := writeFile(p, files[name], true); err != nil {
			return written, err
		}
		written = append(written, rel)
	}
	return written, nil
}

// serviceStubs writes internal/service/service.go: a Service implementing
// the generated StrictServerInterface, one method per operation answering
// UNIMPLEMENTED (501) until written. The method set is read from the
// generated server, so the names are oapi-codegen's.
func serviceStubs(apiImport string, server []byte) ([]byte, error) {
	f, err := parser.ParseFile(token.NewFileSet(), oasgen.ServerFile, server, 0)
	if err != nil {
		return nil, fmt.Errorf("reading the generated server: %w", err)
	}
	var iface *ast.InterfaceType
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == "StrictServerInterface" {
			iface, _ = ts.Type.(*ast.InterfaceType)
		}
		return iface == nil
	})
	if iface == nil {
		return nil, errors.New("the generated server declares no StrictServerInterface")
	}
	const statusPkg, codesPkg = "google.golang.org/grpc/status", "google.golang.org/grpc/codes"
	g := jen.NewFile("service")
	g.PackageComment("Package service implements the API. It is yours: govscaffold generate")
	g.PackageComment("never rewrites it. Each operation answers 501 until you write it.")
	g.Comment("Service implements api.StrictServerInterface.")
	g.Type().Id("Service").Struct()
	g.Line()
	g.Comment("New returns the service.")
	g.Func().Id("New").Params().Op("*").Id("Service").Block(jen.Return(jen.Op("&").Id("Service").Values()))
	g.Line()
	g.Var().Id("_").Qual(apiImport, "StrictServerInterface").Op("=").Parens(jen.Op("*").Id("Service")).Parens(jen.Nil())
	for _, m := range iface.Methods.List {
		fn, ok := m.Type.(*ast.FuncType)
		if !ok || len(m.Names) != 1 || len(fn.Params.List) != 2 || fn.Results == nil || len(fn.Results.List) != 2 {
			continue
		}
		name := m.Names[0].Name
		req, _ := fn.Params.List[1].Type.(*ast.Ident)
		resp, _ := fn.Results.List[0].Type.(*ast.Ident)
		if req == nil || resp == nil {
			continue
		}
		g.Line()
		g.Comment(name + " is not implemented yet.")
		g.Func().Params(jen.Id("s").Op("*").Id("Service")).Id(name).
			Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("request").Qual(apiImport, req.Name)).
			Params(jen.Qual(apiImport, resp.Name), jen.Error()).
			Block(jen.Return(jen.Nil(), jen.Qual(statusPkg, "Error").Call(jen.Qual(codesPkg, "Unimplemented"), jen.Lit(name+" is not implemented yet: write it in internal/service"))))
	}
	var buf bytes.Buffer
	if err := g.Render(&buf); err != nil {
		return nil, fmt.Errorf("rendering the service stubs: %w", err)
	}
	return buf.Bytes(), nil
}
