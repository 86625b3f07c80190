package govgen

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/govkit/govern/internal/slo"

	_ "google.golang.org/genproto/googleapis/api/annotations" // registers google.api.http for option parsing
)

// Version is protoc-gen-govern's version, printed by -version and written
// in the header of generated files.
const Version = "0.1.0"

// Options are the plugin parameters (--govern_opt=name=value).
type Options struct {
	// OpenAPI emits an OpenAPI 3.0 document per proto file with HTTP routes.
	OpenAPI bool
	// OpenAPIFormat is "yaml" (default) or "json".
	OpenAPIFormat string
	// OpenAPIServer is the document's one server URL (parameter
	// openapi_server); empty means "/", the host serving the document.
	OpenAPIServer string
	// OpenAPILicense is the API's license name, an SPDX identifier such as
	// Apache-2.0 (parameter openapi_license); empty writes no info.license,
	// since the plugin cannot know it.
	OpenAPILicense string
	// SkipGateway omits RegisterSvcGateway, which needs
	// protoc-gen-grpc-gateway's output in the same package (parameter
	// gateway=false). The zero value emits it.
	SkipGateway bool
	// Rules emits, per service, Prometheus recording and alerting rules
	// (<file>.<Svc>.rules.yaml) and the same as a Kubernetes PrometheusRule
	// (<file>.<Svc>.prometheusrule.yaml); see internal/alertrules.
	Rules bool
	// Dashboards emits a Grafana dashboard per service
	// (<file>.<Svc>.dashboard.json); see internal/dashboard.
	Dashboards bool
	// Scrape emits, per service, a Prometheus scrape configuration with the
	// fleet's metric_relabel_configs (<file>.<Svc>.scrape.yaml); see
	// internal/relabel.
	Scrape bool
	// SLOConfig is the path of an objectives file (slo.yaml) overriding the
	// tier objectives and burn rates of Rules and Dashboards.
	SLOConfig string
	// Warnings receives problems that do not stop generation (a latency
	// objective that can never be missed), one per line; nil discards them.
	Warnings io.Writer
}

// FlagSet returns the flag set that parses plugin parameters into o; pass
// its Set method as protogen.Options.ParamFunc.
func (o *Options) FlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("protoc-gen-govern", flag.ContinueOnError)
	fs.BoolVar(&o.OpenAPI, "openapi", false, "emit <file>.openapi.yaml with the HTTP routes and their policies")
	fs.StringVar(&o.OpenAPIFormat, "openapi_format", "yaml", "format of the OpenAPI document: yaml or json")
	fs.StringVar(&o.OpenAPIServer, "openapi_server", "/", "server URL written in the OpenAPI document's servers")
	fs.StringVar(&o.OpenAPILicense, "openapi_license", "", "license name (SPDX identifier) written in the OpenAPI document's info.license; none when empty")
	fs.BoolVar(&o.Rules, "rules", false, "emit Prometheus rules and a PrometheusRule per service")
	fs.BoolVar(&o.Dashboards, "dashboards", false, "emit a Grafana dashboard per service")
	fs.BoolVar(&o.Scrape, "scrape", false, "emit a Prometheus scrape config with metric_relabel_configs per service")
	fs.StringVar(&o.SLOConfig, "slo", "", "objectives file (slo.yaml) for rules and dashboards, relative to the working directory")
	fs.Func("gateway", "emit Register<Svc>Gateway for services with google.api.http routes (default true; needs protoc-gen-grpc-gateway output)", func(v string) error {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("gateway=%q: use true or false", v)
		}
		o.SkipGateway = !on
		return nil
	})
	return fs
}

func (o *Options) validate() error {
	switch o.OpenAPIFormat {
	case "", "yaml", "json":
		return nil
	}
	return fmt.Errorf("openapi_format=%q: use yaml or json", o.OpenAPIFormat)
}

// Configure declares what the plugin supports: proto3 optional and editions
// from proto2 to 2024 (the range protoc-gen-go supports).
func Configure(gen *protogen.Plugin) {
	gen.SupportedFeatures = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL) |
		uint64(pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)
	gen.SupportedEditionsMinimum = descriptorpb.Edition_EDITION_PROTO2
	gen.SupportedEditionsMaximum = descriptorpb.Edition_EDITION_2024
}

// Generate validates the options of every file to generate and, when all
// are valid, emits their _govern.pb.go files. It returns Diagnostics
// listing every problem of every file otherwise.
func Generate(gen *protogen.Plugin, opts Options) error {
	Configure(gen)
	if err := opts.validate(); err != nil {
		return err
	}
	var models []*fileModel
	var problems Diagnostics
	for _, f := range gen.Files {
		if !f.Generate || len(f.Services) == 0 {
			continue
		}
		fm, diags := resolveFile(f)
		names := newDiagnostics(f)
		checkNames(gen, fm, names)
		problems = append(problems, diags...)
		problems = append(problems, names.sorted()...)
		models = append(models, fm)
	}
	if len(problems) > 0 {
		return problems
	}
	plans, problems, err := operatorPlans(models, opts)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return problems
	}
	for _, fm := range models {
		if err := generateFile(gen, fm, opts, plans); err != nil {
			return err
		}
	}
	return nil
}

// Run is the whole plugin over bytes: it decodes a CodeGeneratorRequest,
// generates, and encodes the CodeGeneratorResponse. Problems in the protos
// are reported in the response's error field, as protoc expects; an error is
// returned only for input that is not a valid request.
func Run(in []byte) ([]byte, error) {
	req := &pluginpb.CodeGeneratorRequest{}
	if err := proto.Unmarshal(in, req); err != nil {
		return nil, fmt.Errorf("decoding the CodeGeneratorRequest (is protoc-gen-govern run by protoc?): %w", err)
	}
	resp, err := RunRequest(req)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(resp)
}

// RunRequest generates for a decoded request.
func RunRequest(req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error) {
	var opts Options
	fs := opts.FlagSet()
	gen, err := protogen.Options{ParamFunc: fs.Set}.New(req)
	if err != nil {
		return nil, err
	}
	if err := Generate(gen, opts); err != nil {
		gen.Error(err)
	}
	return gen.Response(), nil
}

// genHeader writes the header every generated Go file carries.
func genHeader(gen *protogen.Plugin, g *protogen.GeneratedFile, f *protogen.File) {
	g.P("// Code generated by protoc-gen-govern. DO NOT EDIT.")
	g.P("// versions:")
	g.P("// - protoc-gen-govern v", Version)
	g.P("// - protoc             ", protocVersion(gen))
	if f.Proto.GetOptions().GetDeprecated() {
		g.P("// ", f.Desc.Path(), " is a deprecated file.")
	} else {
		g.P("// source: ", f.Desc.Path())
	}
	g.P()
}

func protocVersion(gen *protogen.Plugin) string {
	v := gen.Request.GetCompilerVersion()
	if v == nil {
		return "(unknown)"
	}
	s := fmt.Sprintf("v%d.%d.%d", v.GetMajor(), v.GetMinor(), v.GetPatch())
	if v.GetSuffix() != "" {
		s += "-" + v.GetSuffix()
	}
	return s
}

func generateFile(gen *protogen.Plugin, fm *fileModel, opts Options, plans map[*serviceModel]*slo.Plan) error {
	f := fm.file
	g := gen.NewGeneratedFile(f.GeneratedFilenamePrefix+"_govern.pb.go", f.GoImportPath)
	genHeader(gen, g, f)
	g.P("package ", f.GoPackageName)
	g.P()
	var errs []error
	for _, sm := range fm.services {
		genPolicyTable(g, sm)
		for _, mm := range sm.methods {
			if len(mm.keys) > 0 {
				genKeyExtractor(g, mm)
			}
		}
		if err := genServiceConfig(g, sm); err != nil {
			errs = append(errs, err)
		}
		genInterceptors(g, sm)
		genRoutes(g, sm)
		if !opts.SkipGateway && sm.hasRoutes() {
			genGateway(g, sm)
		}
		if opts.Rules {
			if err := genRules(gen, fm, sm, plans[sm]); err != nil {
				errs = append(errs, err)
			}
		}
		if opts.Dashboards {
			if err := genDashboard(gen, fm, sm, plans[sm]); err != nil {
				errs = append(errs, err)
			}
		}
		if opts.Scrape {
			if err := genScrape(gen, fm, sm, plans[sm]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if opts.OpenAPI {
		if err := genOpenAPI(gen, fm, opts); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
