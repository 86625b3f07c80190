package govgen

import "google.golang.org/protobuf/compiler/protogen"

const governancePackage = protogen.GoImportPath("github.com/govkit/govern/runtime/governance")

// genInterceptors emits SvcInterceptors: the server interceptors of the
// govern runtime for the service's table, so wiring a server is one call.
func genInterceptors(g *protogen.GeneratedFile, sm *serviceModel) {
	s := sm.service
	name := s.GoName + "Interceptors"
	g.P("// ", name, " returns the govern server interceptors for ", s.Desc.FullName(), ",")
	g.P("// built by governance.New from ", policyVarName(s), ". Install them with")
	g.P("// grpc.ChainUnaryInterceptor and grpc.ChainStreamInterceptor. To govern several")
	g.P("// services with one governor, pass policy.Merge of their tables to governance.New.")
	g.P("func ", name, "(opts ...", governancePackage.Ident("Option"), ") (", grpcPackage.Ident("UnaryServerInterceptor"), ", ", grpcPackage.Ident("StreamServerInterceptor"), ", error) {")
	g.P("g, err := ", governancePackage.Ident("New"), "(", policyVarName(s), ", opts...)")
	g.P("if err != nil {")
	g.P("return nil, nil, err")
	g.P("}")
	g.P("return g.UnaryServerInterceptor(), g.StreamServerInterceptor(), nil")
	g.P("}")
	g.P()
}
