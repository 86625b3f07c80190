package oasgov

import (
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/govkit/govern/internal/govgen"
	"github.com/govkit/govern/runtime/httpgovern"
)

// keyFields resolves the idempotency.key_fields of one operation. A key
// field is a JSON pointer into the request body ("/order/sn"), a body
// property path ("order.sn"), or the name of a path or query parameter.
// Each must be a required scalar (string, integer or boolean), so every
// request carries the key and its text form is stable.
type keyFields struct {
	op     *openapi3.Operation
	item   *openapi3.PathItem
	method string
	id     string
	diag   *govgen.Diagnoser
	fields []httpgovern.KeyField
}

func (k *keyFields) resolve(at []int32, path string) bool {
	bad := func(format string, args ...any) bool {
		k.diag.Errorf(at, "idempotency.key_fields %q of %s: "+format, append([]any{path, k.id}, args...)...)
		return false
	}
	var segs []string
	switch {
	case path == "" || path == "/":
		return bad("an empty path names nothing; write a body property (\"order.sn\" or \"/order/sn\") or a path or query parameter")
	case strings.HasPrefix(path, "/"):
		for _, s := range strings.Split(path[1:], "/") {
			segs = append(segs, strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~"))
		}
	default:
		segs = strings.Split(path, ".")
		if len(segs) == 1 {
			if p := k.param(path); p != nil {
				return k.paramField(p, bad)
			}
		}
	}
	if slices.Contains(segs, "") {
		return bad("it has an empty segment; write property names separated by single dots (\"order.sn\") or slashes (\"/order/sn\")")
	}
	schema := k.bodySchema()
	if schema == nil {
		return bad("%s %s has no application/json request body%s; name a property of a JSON body or a path or query parameter", k.method, k.id, k.paramHint())
	}
	// Every schema that describes the current level: allOf branches
	// contribute properties and required lists, at every depth.
	level := []*openapi3.Schema{schema}
	for i, seg := range segs {
		props, required := flatten(level)
		where := "the request body"
		if i > 0 {
			where = "/" + strings.Join(segs[:i], "/")
		}
		prop := props[seg]
		if len(prop) == 0 {
			names := make([]string, 0, len(props))
			for n := range props {
				names = append(names, n)
			}
			slices.Sort(names)
			return bad("%s has no property %q; use one of: %s", where, seg, listOrNone(names))
		}
		if !required[seg] {
			return bad("%s does not list %q as required, so a request may come without the key; add it to the schema's required list, or name a required property", where, seg)
		}
		level = prop
		typed := typedSchema(prop)
		last := i == len(segs)-1
		switch {
		case !last && typed != nil && !typed.Type.Is("object") && len(typed.Properties) == 0:
			return bad("/%s is %s, not an object, so the path cannot continue past it; end the path there", strings.Join(segs[:i+1], "/"), typeName(typed))
		case last && typed == nil:
			return bad("/%s has no scalar type; declare type: string, integer or boolean", strings.Join(segs, "/"))
		case last:
			if msg := scalarProblem(typed); msg != "" {
				return bad("/%s %s", strings.Join(segs, "/"), msg)
			}
		}
	}
	k.fields = append(k.fields, httpgovern.BodyField(segs...))
	return true
}

func (k *keyFields) paramField(p *openapi3.Parameter, bad func(string, ...any) bool) bool {
	if p.In == openapi3.ParameterInQuery && !p.Required {
		return bad("query parameter %q is optional, so a request may come without the key; mark it required: true, or name a required property", p.Name)
	}
	if p.Schema != nil && p.Schema.Value != nil {
		if msg := scalarProblem(p.Schema.Value); msg != "" {
			return bad("%s parameter %q %s", p.In, p.Name, msg)
		}
	}
	if p.In == openapi3.ParameterInPath {
		k.fields = append(k.fields, httpgovern.PathParam(p.Name))
	} else {
		k.fields = append(k.fields, httpgovern.QueryParam(p.Name))
	}
	return true
}

// param finds a path or query parameter of the operation (or its path
// item) by name.
func (k *keyFields) param(name string) *openapi3.Parameter {
	for _, list := range []openapi3.Parameters{k.op.Parameters, k.item.Parameters} {
		for _, ref := range list {
			if p := ref.Value; p != nil && p.Name == name && (p.In == openapi3.ParameterInPath || p.In == openapi3.ParameterInQuery) {
				return p
			}
		}
	}
	return nil
}

func (k *keyFields) paramHint() string {
	var names []string
	for _, list := range []openapi3.Parameters{k.op.Parameters, k.item.Parameters} {
		for _, ref := range list {
			if p := ref.Value; p != nil && (p.In == openapi3.ParameterInPath || p.In == openapi3.ParameterInQuery) {
				names = append(names, p.Name)
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " (its parameters: " + strings.Join(names, ", ") + ")"
}

func (k *keyFields) bodySchema() *openapi3.Schema {
	if k.op.RequestBody == nil || k.op.RequestBody.Value == nil {
		return nil
	}
	for mt, media := range k.op.RequestBody.Value.Content {
		if (mt == "application/json" || strings.HasSuffix(mt, "+json")) && media.Schema != nil {
			return media.Schema.Value
		}
	}
	return nil
}

// flatten returns, for the schemas describing one level (and their allOf
// branches), every schema of each property and which properties are
// required.
func flatten(level []*openapi3.Schema) (map[string][]*openapi3.Schema, map[string]bool) {
	props := map[string][]*openapi3.Schema{}
	required := map[string]bool{}
	var walk func(*openapi3.Schema)
	walk = func(s *openapi3.Schema) {
		if s == nil {
			return
		}
		for n, p := range s.Properties {
			if p != nil && p.Value != nil {
				props[n] = append(props[n], p.Value)
			}
		}
		for _, n := range s.Required {
			required[n] = true
		}
		for _, b := range s.AllOf {
			walk(b.Value)
		}
	}
	for _, s := range level {
		walk(s)
	}
	return props, required
}

// typedSchema returns the schema among a property's that declares its
// type, or nil (overlays such as {required: [...]} declare none).
func typedSchema(schemas []*openapi3.Schema) *openapi3.Schema {
	var found *openapi3.Schema
	var walk func(*openapi3.Schema)
	walk = func(s *openapi3.Schema) {
		if s == nil || found != nil {
			return
		}
		if s.Type != nil && len(*s.Type) > 0 {
			found = s
			return
		}
		for _, b := range s.AllOf {
			walk(b.Value)
		}
	}
	for _, s := range schemas {
		walk(s)
	}
	return found
}

// scalarProblem says why a schema cannot hold a key, or "" when it can.
func scalarProblem(s *openapi3.Schema) string {
	switch {
	case s.Type.Is("string"), s.Type.Is("integer"), s.Type.Is("boolean"):
		return ""
	case s.Type.Is("number"):
		return "is a floating-point number, whose text form is not a stable key; use a string, integer or boolean property"
	case s.Type.Is("object"), len(s.Properties) > 0:
		return "is an object; extend the path to one of its scalar properties"
	case s.Type.Is("array"):
		return "is an array, which has no single value; point at a scalar property"
	}
	return "has no scalar type; declare type: string, integer or boolean"
}

func typeName(s *openapi3.Schema) string {
	if s.Type != nil && len(*s.Type) > 0 {
		return "a " + (*s.Type)[0]
	}
	return "untyped"
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "(it declares no properties)"
	}
	return strings.Join(names, ", ")
}
