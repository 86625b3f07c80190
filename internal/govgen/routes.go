package govgen

import (
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/govkit/govern/runtime/policy"
)

// httpRuleField is the extension number of google.api.http on MethodOptions.
const httpRuleField = 72295728

// httpRoutes reads the method's google.api.http annotation, including its
// additional_bindings, into routes (Policy is filled in by generated code).
func httpRoutes(d *diagnostics, m *protogen.Method, optionsPath []int32) []policy.Route {
	opts, ok := m.Desc.Options().(*descriptorpb.MethodOptions)
	if !ok || !proto.HasExtension(opts, annotations.E_Http) {
		return nil
	}
	rule, ok := proto.GetExtension(opts, annotations.E_Http).(*annotations.HttpRule)
	if !ok || rule == nil {
		return nil
	}
	full := "/" + string(m.Parent.Desc.FullName()) + "/" + string(m.Desc.Name())
	at := join(optionsPath, httpRuleField)
	var routes []policy.Route
	add := func(r *annotations.HttpRule) {
		verb, pattern := ruleVerb(r)
		switch {
		case verb == "":
			d.errorf(at, "google.api.http on %s has no pattern: set one of get, put, post, delete, patch or custom", m.Desc.Name())
			return
		case verb != strings.ToUpper(verb):
			d.errorf(at, "google.api.http on %s: custom method %q must be upper case, as HTTP methods are; write %q", m.Desc.Name(), verb, strings.ToUpper(verb))
			return
		case !strings.HasPrefix(pattern, "/"):
			d.errorf(at, "google.api.http on %s: path %q must start with \"/\"", m.Desc.Name(), pattern)
			return
		}
		routes = append(routes, policy.Route{HTTPMethod: verb, Pattern: pattern, Body: r.GetBody(), FullMethod: full})
	}
	add(rule)
	for _, b := range rule.GetAdditionalBindings() {
		add(b)
	}
	return routes
}

func ruleVerb(r *annotations.HttpRule) (verb, pattern string) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return "GET", p.Get
	case *annotations.HttpRule_Put:
		return "PUT", p.Put
	case *annotations.HttpRule_Post:
		return "POST", p.Post
	case *annotations.HttpRule_Delete:
		return "DELETE", p.Delete
	case *annotations.HttpRule_Patch:
		return "PATCH", p.Patch
	case *annotations.HttpRule_Custom:
		return p.Custom.GetKind(), p.Custom.GetPath()
	}
	return "", ""
}

func routesVarName(s *protogen.Service) string { return s.GoName + "Routes" }

// genRoutes emits SvcRoutes, the HTTP routes of the service, each pointing
// at its method's entry of SvcPolicy.
func genRoutes(g *protogen.GeneratedFile, sm *serviceModel) {
	s := sm.service
	name := routesVarName(s)
	if !sm.hasRoutes() {
		g.P("// ", name, " is empty: ", s.Desc.FullName(), " declares no google.api.http routes.")
		g.P("var ", name, " []", policyPackage.Ident("Route"))
		g.P()
		return
	}
	g.P("// ", name, " are the HTTP routes of ", s.Desc.FullName(), " from its google.api.http")
	g.P("// annotations, each with its method's policy. Metrics label requests with")
	g.P("// Pattern, never with the raw path.")
	g.P("var ", name, " = []", policyPackage.Ident("Route"), "{")
	for _, mm := range sm.methods {
		for _, r := range mm.routes {
			// One route per line reads as a routing table.
			body := ""
			if r.Body != "" {
				body = "Body: " + strconv.Quote(r.Body) + ", "
			}
			g.P("{HTTPMethod: ", strconv.Quote(r.HTTPMethod), ", Pattern: ", strconv.Quote(r.Pattern), ", ", body,
				"FullMethod: ", strconv.Quote(r.FullMethod), ", Policy: ", methodPolicyVar(mm.method), "},")
		}
	}
	g.P("}")
	g.P()
}

var (
	contextPackage = protogen.GoImportPath("context")
	grpcPackage    = protogen.GoImportPath("google.golang.org/grpc")
	gwRuntime      = protogen.GoImportPath("github.com/grpc-ecosystem/grpc-gateway/v2/runtime")
	gatewayPackage = protogen.GoImportPath("github.com/govkit/govern/runtime/gateway")
)

// genGateway emits RegisterSvcGateway for a service with HTTP routes: it
// mounts protoc-gen-grpc-gateway's Register<Svc>Handler (same Go package) on
// an explicit mux through runtime/gateway, which checks SvcRoutes first.
func genGateway(g *protogen.GeneratedFile, sm *serviceModel) {
	s := sm.service
	name := "Register" + s.GoName + "Gateway"
	g.P("// ", name, " mounts the grpc-gateway handlers of ", s.Desc.FullName())
	g.P("// on mux, forwarding to conn, after checking ", routesVarName(s), ". Create mux with")
	g.P("// gateway.NewServeMux so governance headers and errors are mapped. It needs")
	g.P("// Register", s.GoName, "Handler from protoc-gen-grpc-gateway in this package.")
	g.P("func ", name, "(ctx ", contextPackage.Ident("Context"), ", mux *", gwRuntime.Ident("ServeMux"), ", conn *", grpcPackage.Ident("ClientConn"), ") error {")
	g.P("return ", gatewayPackage.Ident("Register"), "(ctx, mux, conn, ", routesVarName(s), ", Register", s.GoName, "Handler)")
	g.P("}")
	g.P()
}
