package govgen

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/gofeaturespb"
)

// keyPath is one resolved idempotency key field path ("order.sn"): the
// chain of fields from the request message to a singular scalar.
type keyPath struct {
	path   string
	fields []*protogen.Field
}

// resolveKeyPath walks a dotted key_fields path through the request
// message of m. Every step but the last must be a singular message field;
// the last a singular string, integer, bool or enum field, so its value
// has one stable text form.
func resolveKeyPath(d *diagnostics, at []int32, m *protogen.Method, path string) (keyPath, bool) {
	kp := keyPath{path: path}
	msg := m.Input
	segments := strings.Split(path, ".")
	for i, seg := range segments {
		where := string(msg.Desc.FullName())
		if seg == "" {
			d.errorf(at, "idempotency.key_fields %q of %s has an empty path segment: write field names separated by single dots, such as \"order.sn\"", path, m.Desc.Name())
			return kp, false
		}
		var field *protogen.Field
		for _, f := range msg.Fields {
			if string(f.Desc.Name()) == seg {
				field = f
				break
			}
		}
		if field == nil {
			d.errorf(at, "idempotency.key_fields %q of %s: %s has no field %q; use one of: %s", path, m.Desc.Name(), where, seg, fieldNames(msg))
			return kp, false
		}
		kp.fields = append(kp.fields, field)
		fd := field.Desc
		last := i == len(segments)-1
		switch {
		case fd.IsMap():
			d.errorf(at, "idempotency.key_fields %q of %s: %s.%s is a map, which has no single value; point the path at a singular scalar field", path, m.Desc.Name(), where, seg)
			return kp, false
		case fd.IsList():
			d.errorf(at, "idempotency.key_fields %q of %s: %s.%s is repeated, which has no single value; point the path at a singular scalar field", path, m.Desc.Name(), where, seg)
			return kp, false
		case !last && field.Message == nil:
			d.errorf(at, "idempotency.key_fields %q of %s: %s.%s is a %s, not a message, so the path cannot continue past it; end the path at %q", path, m.Desc.Name(), where, seg, fd.Kind(), strings.Join(segments[:i+1], "."))
			return kp, false
		case !last:
			msg = field.Message
		case field.Message != nil:
			d.errorf(at, "idempotency.key_fields %q of %s: %s.%s is a message; extend the path to one of its scalar fields: %s", path, m.Desc.Name(), where, seg, fieldNames(field.Message))
			return kp, false
		case fd.Kind() == protoreflect.BytesKind:
			d.errorf(at, "idempotency.key_fields %q of %s: %s.%s is bytes; use a string, integer, bool or enum field (hash the payload into a string field if you must)", path, m.Desc.Name(), where, seg)
			return kp, false
		case fd.Kind() == protoreflect.FloatKind || fd.Kind() == protoreflect.DoubleKind:
			d.errorf(at, "idempotency.key_fields %q of %s: %s.%s is a floating-point %s, whose text form is not a stable key; use a string, integer, bool or enum field", path, m.Desc.Name(), where, seg, fd.Kind())
			return kp, false
		}
	}
	return kp, true
}

func fieldNames(msg *protogen.Message) string {
	names := make([]string, 0, len(msg.Fields))
	for _, f := range msg.Fields {
		names = append(names, string(f.Desc.Name()))
	}
	if len(names) == 0 {
		return "(the message has no fields)"
	}
	return strings.Join(names, ", ")
}

// keyFuncName is the exported name of a method's key extractor.
func keyFuncName(m *protogen.Method) string {
	return m.Parent.GoName + "_" + m.GoName + "IdempotencyKey"
}

// keyAdapterName is the unexported policy.KeyFunc wrapping a method's
// typed extractor.
func keyAdapterName(m *protogen.Method) string {
	return "_" + m.Parent.GoName + "_" + m.GoName + "_key"
}

// genKeyExtractor emits the typed key extractor of a method:
//
//	func Svc_MethodIdempotencyKey(req *Req) (key string, ok bool)
//
// It reads fields through the generated getters (nil-safe along nested
// paths) and reports ok=false when any field is unset or empty, so that a
// partial key never deduplicates unrelated calls.
func genKeyExtractor(g *protogen.GeneratedFile, mm *methodModel) {
	m := mm.method
	name := keyFuncName(m)
	paths := make([]string, len(mm.keys))
	for i, k := range mm.keys {
		paths[i] = k.path
	}
	g.P("// ", name, " derives the idempotency key of ", m.Parent.GoName, ".", m.GoName)
	g.P("// from its key fields ", strings.Join(paths, ", "), ".")
	g.P("// ok is false when any of them is unset or empty, so a partial key never")
	g.P("// deduplicates unrelated calls.")
	g.P("func ", name, "(req *", m.Input.GoIdent, ") (key string, ok bool) {")
	g.P("if req == nil {")
	g.P(`return "", false`)
	g.P("}")
	vars := make([]any, 0, 2*len(mm.keys))
	for i, k := range mm.keys {
		v := "k" + strconv.Itoa(i)
		genKeyPart(g, v, k)
		if i > 0 {
			vars = append(vars, ", ")
		}
		vars = append(vars, v)
	}
	joinKey := policyPackage.Ident("JoinKey")
	g.P(append(append([]any{"return ", joinKey, "("}, vars...), "), true")...)
	g.P("}")
	g.P()
	g.P("func ", keyAdapterName(m), "(req any) (string, bool) {")
	g.P("r, _ := req.(*", m.Input.GoIdent, ")")
	g.P("return ", name, "(r)")
	g.P("}")
	g.P()
}

// genKeyPart assigns the text form of one key path to variable v, returning
// early when the field is absent.
func genKeyPart(g *protogen.GeneratedFile, v string, k keyPath) {
	parent := "req"
	for _, f := range k.fields[:len(k.fields)-1] {
		parent += ".Get" + f.GoName + "()"
	}
	leaf := k.fields[len(k.fields)-1]
	fd := leaf.Desc
	if fd.HasPresence() && fd.Kind() != protoreflect.StringKind {
		// Explicit presence (proto3 optional, proto2, editions, oneof): a set
		// zero value is a value, an unset field is not. Strings need no
		// presence check: unset and empty are both rejected below.
		switch {
		case leaf.Parent.APILevel != gofeaturespb.GoFeatures_API_OPEN:
			g.P("if !", parent, ".Has", leaf.GoName, "() {")
		case leaf.Oneof != nil && !leaf.Oneof.Desc.IsSynthetic():
			g.P("if _, set := ", parent, ".Get", leaf.Oneof.GoName, "().(*", leaf.GoIdent, "); !set {")
		case parent == "req":
			g.P("if req.", leaf.GoName, " == nil {")
		default:
			g.P("if m := ", parent, "; m == nil || m.", leaf.GoName, " == nil {")
		}
		g.P(`return "", false`)
		g.P("}")
	}
	get := parent + ".Get" + leaf.GoName + "()"
	if fd.Kind() == protoreflect.StringKind {
		g.P(v, " := ", get)
		g.P("if ", v, ` == "" {`)
		g.P(`return "", false`)
		g.P("}")
		return
	}
	if !fd.HasPresence() {
		// Implicit presence: the zero value is indistinguishable from unset.
		if fd.Kind() == protoreflect.BoolKind {
			g.P("if !", get, " {")
		} else {
			g.P("if ", get, " == 0 {")
		}
		g.P(`return "", false`)
		g.P("}")
	}
	strconvPkg := protogen.GoImportPath("strconv")
	switch fd.Kind() {
	case protoreflect.BoolKind:
		g.P(v, " := ", strconvPkg.Ident("FormatBool"), "(", get, ")")
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		g.P(v, " := ", strconvPkg.Ident("FormatInt"), "(", get, ", 10)")
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		g.P(v, " := ", strconvPkg.Ident("FormatUint"), "(", get, ", 10)")
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		g.P(v, " := ", strconvPkg.Ident("FormatUint"), "(uint64(", get, "), 10)")
	default: // int32 kinds and enums
		g.P(v, " := ", strconvPkg.Ident("FormatInt"), "(int64(", get, "), 10)")
	}
}
