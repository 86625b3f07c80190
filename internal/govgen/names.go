package govgen

import (
	"google.golang.org/protobuf/compiler/protogen"
)

// checkNames reports generated identifiers of fm that collide with Go
// identifiers protoc-gen-go declares in the same Go package (messages,
// enums, enum values, oneof wrappers) or with each other, which would
// otherwise surface as a compile error in generated code.
func checkNames(gen *protogen.Plugin, fm *fileModel, d *diagnostics) {
	taken := map[string]string{} // Go name -> what declares it
	for _, f := range gen.Files {
		if f.GoImportPath != fm.file.GoImportPath {
			continue
		}
		for _, e := range f.Enums {
			addEnum(taken, e)
		}
		for _, m := range f.Messages {
			addMessage(taken, m)
		}
	}
	for si, sm := range fm.services {
		at := []int32{fileServiceField, int32(si)}
		claim := func(name string) {
			if owner, dup := taken[name]; dup {
				d.errorf(at, "service %s: generated identifier %s collides with %s in Go package %s; rename one of them", sm.service.Desc.Name(), name, owner, string(fm.file.GoImportPath))
				return
			}
			taken[name] = "the govern code of service " + string(sm.service.Desc.Name())
		}
		s := sm.service
		claim(policyVarName(s))
		claim(serviceConfigName(s))
		claim(s.GoName + "Interceptors")
		claim(routesVarName(s))
		if sm.hasRoutes() {
			claim("Register" + s.GoName + "Gateway")
		}
		for _, mm := range sm.methods {
			claim(methodPolicyVar(mm.method))
			if len(mm.keys) > 0 {
				claim(keyFuncName(mm.method))
				claim(keyAdapterName(mm.method))
			}
		}
	}
}

func addEnum(taken map[string]string, e *protogen.Enum) {
	taken[e.GoIdent.GoName] = "enum " + string(e.Desc.FullName())
	for _, v := range e.Values {
		taken[v.GoIdent.GoName] = "enum value " + string(v.Desc.FullName())
	}
}

func addMessage(taken map[string]string, m *protogen.Message) {
	taken[m.GoIdent.GoName] = "message " + string(m.Desc.FullName())
	for _, o := range m.Oneofs {
		if o.Desc.IsSynthetic() {
			continue
		}
		for _, f := range o.Fields {
			taken[f.GoIdent.GoName] = "oneof field " + string(f.Desc.FullName())
		}
	}
	for _, e := range m.Enums {
		addEnum(taken, e)
	}
	for _, n := range m.Messages {
		if !n.Desc.IsMapEntry() {
			addMessage(taken, n)
		}
	}
}
