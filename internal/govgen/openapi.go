package govgen

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	governv1 "github.com/govkit/govern/proto/govern/v1"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/serviceconfig"
)

// The OpenAPI document is built from small ordered structs rather than a
// full OpenAPI library: the plugin stays lean (tests validate the output
// with kin-openapi) and field order in the YAML follows the spec's reading
// order.

type oaDoc struct {
	OpenAPI    string                 `yaml:"openapi" json:"openapi"`
	Info       oaInfo                 `yaml:"info" json:"info"`
	Servers    []oaServer             `yaml:"servers" json:"servers"`
	Tags       []oaTag                `yaml:"tags,omitempty" json:"tags,omitempty"`
	Paths      map[string]*oaPathItem `yaml:"paths" json:"paths"`
	Components oaComponents           `yaml:"components" json:"components"`
}

type oaInfo struct {
	Title       string     `yaml:"title" json:"title"`
	Description string     `yaml:"description,omitempty" json:"description,omitempty"`
	Version     string     `yaml:"version" json:"version"`
	License     *oaLicense `yaml:"license,omitempty" json:"license,omitempty"`
}

type oaLicense struct {
	Name string `yaml:"name" json:"name"`
}

type oaServer struct {
	URL string `yaml:"url" json:"url"`
}

type oaTag struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
}

type oaPathItem struct {
	Get    *oaOperation `yaml:"get,omitempty" json:"get,omitempty"`
	Put    *oaOperation `yaml:"put,omitempty" json:"put,omitempty"`
	Post   *oaOperation `yaml:"post,omitempty" json:"post,omitempty"`
	Delete *oaOperation `yaml:"delete,omitempty" json:"delete,omitempty"`
	Patch  *oaOperation `yaml:"patch,omitempty" json:"patch,omitempty"`
}

type oaOperation struct {
	OperationID string                 `yaml:"operationId" json:"operationId"`
	Summary     string                 `yaml:"summary,omitempty" json:"summary,omitempty"`
	Description string                 `yaml:"description,omitempty" json:"description,omitempty"`
	Tags        []string               `yaml:"tags" json:"tags"`
	Parameters  []oaParameter          `yaml:"parameters,omitempty" json:"parameters,omitempty"`
	RequestBody *oaRequestBody         `yaml:"requestBody,omitempty" json:"requestBody,omitempty"`
	Responses   map[string]*oaResponse `yaml:"responses" json:"responses"`
	// Security is always written: the plugin cannot know the service's
	// authentication (a proto does not declare it), so every operation says
	// explicitly that the document requires none of its own.
	Security []map[string][]string `yaml:"security" json:"security"`
	XGovern  any                   `yaml:"x-govern" json:"x-govern"`
}

type oaParameter struct {
	Name        string    `yaml:"name" json:"name"`
	In          string    `yaml:"in" json:"in"`
	Description string    `yaml:"description,omitempty" json:"description,omitempty"`
	Required    bool      `yaml:"required,omitempty" json:"required,omitempty"`
	Schema      *oaSchema `yaml:"schema" json:"schema"`
}

type oaRequestBody struct {
	Required bool                   `yaml:"required" json:"required"`
	Content  map[string]oaMediaType `yaml:"content" json:"content"`
}

type oaResponse struct {
	Description string                 `yaml:"description" json:"description"`
	Headers     map[string]oaHeader    `yaml:"headers,omitempty" json:"headers,omitempty"`
	Content     map[string]oaMediaType `yaml:"content,omitempty" json:"content,omitempty"`
}

type oaHeader struct {
	Description string    `yaml:"description" json:"description"`
	Schema      *oaSchema `yaml:"schema" json:"schema"`
}

type oaMediaType struct {
	Schema *oaSchema `yaml:"schema" json:"schema"`
}

type oaSchema struct {
	Ref                  string               `yaml:"$ref,omitempty" json:"$ref,omitempty"`
	Type                 string               `yaml:"type,omitempty" json:"type,omitempty"`
	Format               string               `yaml:"format,omitempty" json:"format,omitempty"`
	Description          string               `yaml:"description,omitempty" json:"description,omitempty"`
	Enum                 []string             `yaml:"enum,omitempty" json:"enum,omitempty"`
	Items                *oaSchema            `yaml:"items,omitempty" json:"items,omitempty"`
	Properties           map[string]*oaSchema `yaml:"properties,omitempty" json:"properties,omitempty"`
	AdditionalProperties *oaSchema            `yaml:"additionalProperties,omitempty" json:"additionalProperties,omitempty"`
	Required             []string             `yaml:"required,omitempty" json:"required,omitempty"`
	AllOf                []*oaSchema          `yaml:"allOf,omitempty" json:"allOf,omitempty"`
}

type oaComponents struct {
	Schemas map[string]*oaSchema `yaml:"schemas" json:"schemas"`
}

// problemSchema is the application/problem+json body (RFC 9457) the govern
// gateway answers rejections with.
const problemSchema = "govern.Problem"

// genOpenAPI emits <file>.openapi.yaml (or .json) for a file whose
// services declare HTTP routes; files without routes get none.
func genOpenAPI(gen *protogen.Plugin, fm *fileModel, opts Options) error {
	b := &openapiBuilder{schemas: map[string]*oaSchema{}}
	doc := &oaDoc{
		OpenAPI: "3.0.3",
		Info: oaInfo{
			Title:       string(fm.file.Desc.Package()),
			Description: "Generated by protoc-gen-govern from " + fm.file.Desc.Path() + ". Each operation's x-govern extension is its resolved govern.v1.Policy in protojson form.",
			Version:     apiVersion(string(fm.file.Desc.Package())),
		},
		Servers: []oaServer{{URL: cmp.Or(opts.OpenAPIServer, "/")}},
		Paths:   map[string]*oaPathItem{},
	}
	if opts.OpenAPILicense != "" {
		doc.Info.License = &oaLicense{Name: opts.OpenAPILicense}
	}
	routes := 0
	shapes := map[string]string{}
	for _, sm := range fm.services {
		tag := string(sm.service.Desc.Name())
		desc := comment(sm.service.Comments.Leading)
		if desc == "" {
			desc = "The HTTP routes of the gRPC service " + string(sm.service.Desc.FullName()) + "."
		}
		doc.Tags = append(doc.Tags, oaTag{Name: tag, Description: desc})
		for _, mm := range sm.methods {
			for i, r := range mm.routes {
				op, err := b.operation(sm, mm, r, i)
				if err != nil {
					return err
				}
				if op == nil {
					continue // no OpenAPI 3.0 verb for a custom method
				}
				path := openapiPath(r.Pattern)
				// OpenAPI treats "/a/{id}" and "/a/{order.id}" as one path:
				// share the first spelling and rename this operation's
				// path parameters by position.
				shape := templateVar.ReplaceAllString(path, "{}")
				if first, ok := shapes[shape]; ok && first != path {
					renamePathParams(op, templateVar.FindAllStringSubmatch(first, -1))
					path = first
				}
				shapes[shape] = path
				item := doc.Paths[path]
				if item == nil {
					item = &oaPathItem{}
					doc.Paths[path] = item
				}
				*item.slot(r.HTTPMethod) = op
				routes++
			}
		}
	}
	if routes == 0 {
		return nil
	}
	b.schemas[problemSchema] = &oaSchema{
		Type:        "object",
		Description: "RFC 9457 problem details; reason is the govern ErrorInfo reason (RATE_LIMITED, CIRCUIT_OPEN, IDEMPOTENCY_*).",
		Properties: map[string]*oaSchema{
			"type":     {Type: "string"},
			"title":    {Type: "string"},
			"status":   {Type: "integer", Format: "int32"},
			"detail":   {Type: "string"},
			"instance": {Type: "string"},
			"reason":   {Type: "string"},
		},
	}
	doc.Components.Schemas = b.schemas

	var out []byte
	var err error
	name := fm.file.GeneratedFilenamePrefix + ".openapi."
	if opts.OpenAPIFormat == "json" {
		name += "json"
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // descriptions are text, not HTML
		enc.SetIndent("", "  ")
		err = enc.Encode(doc)
		out = buf.Bytes()
	} else {
		name += "yaml"
		var buf bytes.Buffer
		buf.WriteString("# Code generated by protoc-gen-govern. DO NOT EDIT.\n# source: " + fm.file.Desc.Path() + "\n")
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		err = enc.Encode(doc)
		out = buf.Bytes()
	}
	if err != nil {
		return fmt.Errorf("%s: encoding the OpenAPI document: %w", fm.file.Desc.Path(), err)
	}
	g := gen.NewGeneratedFile(name, "")
	_, err = g.Write(out)
	return err
}

// renamePathParams gives op's path parameters the names of an equivalent
// path already in the document, keeping the request field in the
// description.
func renamePathParams(op *oaOperation, names [][]string) {
	i := 0
	for n := range op.Parameters {
		prm := &op.Parameters[n]
		if prm.In != "path" || i >= len(names) {
			continue
		}
		if prm.Name != names[i][1] {
			prm.Description = strings.TrimSpace("Request field " + prm.Name + ". " + prm.Description)
			prm.Name = names[i][1]
		}
		i++
	}
}

func (p *oaPathItem) slot(verb string) **oaOperation {
	switch verb {
	case "GET":
		return &p.Get
	case "PUT":
		return &p.Put
	case "POST":
		return &p.Post
	case "DELETE":
		return &p.Delete
	}
	return &p.Patch
}

var versionSegment = regexp.MustCompile(`^v\d+((alpha|beta)\d*)?$`)

func apiVersion(pkg string) string {
	parts := strings.Split(pkg, ".")
	if last := parts[len(parts)-1]; versionSegment.MatchString(last) {
		return last
	}
	return "0.0.0"
}

// templateVar matches a path template variable, "{name}" or "{name=pattern}".
var templateVar = regexp.MustCompile(`\{([^}=]+)(=[^}]*)?\}`)

// openapiPath turns a google.api.http template into an OpenAPI path:
// "{name=shelves/*}" becomes "{name}".
func openapiPath(pattern string) string {
	return templateVar.ReplaceAllString(pattern, "{$1}")
}

// comment turns a proto comment into text: the space after "//" removed
// from every line, surrounding blank lines dropped.
func comment(c protogen.Comments) string {
	lines := strings.Split(strings.TrimRight(string(c), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(strings.TrimRight(l, " \t"), " ")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// summary is the first sentence of a comment, on one line.
func summary(text string) string {
	flat := strings.Join(strings.Fields(text), " ")
	if i := strings.Index(flat, ". "); i >= 0 {
		return flat[:i+1]
	}
	return flat
}

type openapiBuilder struct {
	schemas map[string]*oaSchema
}

func (b *openapiBuilder) operation(sm *serviceModel, mm *methodModel, r policy.Route, binding int) (*oaOperation, error) {
	switch r.HTTPMethod {
	case "GET", "PUT", "POST", "DELETE", "PATCH":
	default:
		return nil, nil
	}
	m := mm.method
	pol := mm.policy
	op := &oaOperation{
		OperationID: sm.service.GoName + "_" + m.GoName,
		Tags:        []string{string(sm.service.Desc.Name())},
		Responses:   map[string]*oaResponse{},
		Security:    []map[string][]string{},
	}
	if binding > 0 {
		op.OperationID += fmt.Sprintf("_%d", binding)
	}
	if desc := comment(m.Comments.Leading); desc != "" {
		op.Summary = summary(desc)
		op.Description = desc
	} else {
		op.Summary = "Calls " + pol.FullMethod + "."
	}

	bound := map[string]bool{}
	for _, v := range templateVar.FindAllStringSubmatch(r.Pattern, -1) {
		name := v[1]
		bound[name] = true
		op.Parameters = append(op.Parameters, oaParameter{Name: name, In: "path", Required: true, Schema: b.pathParamSchema(m.Input, name)})
	}
	switch r.Body {
	case "":
		op.Parameters = append(op.Parameters, b.queryParams(m.Input, bound)...)
	case "*":
		op.RequestBody = &oaRequestBody{Required: true, Content: map[string]oaMediaType{"application/json": {Schema: b.messageRef(m.Input)}}}
	default:
		for _, f := range m.Input.Fields {
			if string(f.Desc.Name()) == r.Body {
				op.RequestBody = &oaRequestBody{Required: true, Content: map[string]oaMediaType{"application/json": {Schema: b.fieldSchema(f)}}}
				bound[r.Body] = true
			}
		}
		op.Parameters = append(op.Parameters, b.queryParams(m.Input, bound)...)
	}

	if id := pol.Idempotency; id != nil {
		desc := "Deduplicates retries of one logical call: a repeated key replays the first result."
		if len(id.KeyFields) > 0 {
			desc += " When absent, the key is derived from " + strings.Join(id.KeyFields, ", ") + "."
		}
		op.Parameters = append(op.Parameters, oaParameter{
			Name: "Idempotency-Key", In: "header", Description: desc,
			Required: id.Required && len(id.KeyFields) == 0,
			Schema:   &oaSchema{Type: "string"},
		})
	}

	if pol.ServerStreaming {
		// grpc-gateway streams newline-delimited {"result": ...} objects.
		op.Responses["200"] = &oaResponse{
			Description: "A stream of newline-delimited JSON objects, each holding one message in result (or a final error).",
			Content: map[string]oaMediaType{"application/json": {Schema: &oaSchema{Type: "object", Properties: map[string]*oaSchema{
				"result": b.messageRef(m.Output),
				"error":  {Type: "object"},
			}}}},
		}
	} else {
		op.Responses["200"] = &oaResponse{Description: "OK", Content: map[string]oaMediaType{"application/json": {Schema: b.messageRef(m.Output)}}}
	}
	// Each problem+json response is listed where the resolved policy lets
	// the runtime send it (docs/plugin.md, "OpenAPI responses").
	problem := func(code, desc string, retryAfter bool) {
		r := &oaResponse{Description: desc, Content: map[string]oaMediaType{"application/problem+json": {Schema: &oaSchema{Ref: "#/components/schemas/" + problemSchema}}}}
		if retryAfter {
			r.Headers = map[string]oaHeader{"Retry-After": {Description: "Seconds to wait before retrying.", Schema: &oaSchema{Type: "integer", Format: "int32"}}}
		}
		op.Responses[code] = r
	}
	badRequest := "INVALID_ARGUMENT: the request is malformed (JSON body, path or query parameters)."
	if id := pol.Idempotency; id != nil && id.Required && !pol.Disabled {
		badRequest += " IDEMPOTENCY_KEY_MISSING: no Idempotency-Key and none derivable from the request."
	}
	problem("400", badRequest, false)
	unavailable := "UNAVAILABLE: the service cannot take the call now (overloaded, shutting down or a dependency down)."
	if !pol.Disabled {
		if id := pol.Idempotency; id != nil {
			problem("409", "IDEMPOTENCY_IN_FLIGHT: a call with the same key is still running; retry after Retry-After.", true)
			problem("422", "IDEMPOTENCY_KEY_REUSED: the key was used with a different request body.", false)
		}
		if pol.RateLimit != nil {
			problem("429", "RATE_LIMITED: the method's rate limit rejected the call.", true)
		}
		if pol.CircuitBreaker != nil {
			unavailable += " CIRCUIT_OPEN: the method's circuit breaker is open."
		}
		if pol.Timeout > 0 {
			problem("504", "DEADLINE_EXCEEDED: the method's timeout ("+goDuration(pol.Timeout)+") expired.", false)
		}
	}
	problem("503", unavailable, true)
	op.Responses["default"] = &oaResponse{Description: "Any other error, as a google.rpc.Status or problem details.", Content: map[string]oaMediaType{"application/json": {Schema: &oaSchema{Type: "object"}}}}

	x, err := xGovern(pol)
	if err != nil {
		return nil, err
	}
	if keys := openapiKeyFields(op, mm, r.Body, bound); keys != nil {
		x["idempotency"].(map[string]any)["key_fields"] = keys
	}
	x["grpc_method"] = pol.FullMethod
	switch pol.IdempotencyLevel {
	case policy.NoSideEffects:
		x["idempotency_level"] = "NO_SIDE_EFFECTS"
	case policy.Idempotent:
		x["idempotency_level"] = "IDEMPOTENT"
	default:
		if r.HTTPMethod == "GET" {
			// A GET is safe by its method; the gRPC method behind it does
			// not say so, and its policy (no retry) must read back the same.
			x["idempotency_level"] = "IDEMPOTENCY_UNKNOWN"
		}
	}
	op.XGovern = x
	return op, nil
}

// openapiKeyFields writes a method's key fields in the document's own
// vocabulary, so that the x-govern read back from the document resolves
// (govscaffold --from-openapi, internal/oasgov): a field bound to a path
// or query parameter by that parameter's name, a body field by its JSON
// property path ("order.sn", "clientId"). The request body schema then
// lists the body key fields as required (an allOf over the message), which
// is what deriving a key needs. It returns nil when the method has no key
// fields or its body is a single field (key paths then start outside it).
func openapiKeyFields(op *oaOperation, mm *methodModel, body string, bound map[string]bool) []any {
	if mm.policy.Idempotency == nil || len(mm.keys) == 0 || (body != "*" && body != "") {
		return nil
	}
	var out []any
	overlay := &oaSchema{}
	for _, k := range mm.keys {
		first := k.fields[0]
		if bound[string(first.Desc.Name())] && len(k.fields) == 1 {
			out = append(out, string(first.Desc.Name()))
			continue
		}
		if body == "" { // query parameters use JSON names
			out = append(out, first.Desc.JSONName())
			for i := range op.Parameters {
				if op.Parameters[i].Name == first.Desc.JSONName() {
					op.Parameters[i].Required = true
				}
			}
			continue
		}
		names := make([]string, len(k.fields))
		level := overlay
		for i, f := range k.fields {
			names[i] = f.Desc.JSONName()
			if !slices.Contains(level.Required, names[i]) {
				level.Required = append(level.Required, names[i])
			}
			if i < len(k.fields)-1 {
				if level.Properties == nil {
					level.Properties = map[string]*oaSchema{}
				}
				next := level.Properties[names[i]]
				if next == nil {
					next = &oaSchema{}
					level.Properties[names[i]] = next
				}
				level = next
			}
		}
		out = append(out, strings.Join(names, "."))
	}
	if len(overlay.Required) > 0 && op.RequestBody != nil {
		media := op.RequestBody.Content["application/json"]
		media.Schema = &oaSchema{AllOf: []*oaSchema{media.Schema, overlay}}
		op.RequestBody.Content["application/json"] = media
	}
	return out
}

// pathParamSchema types a path variable ("id" or "order.id") by its field.
func (b *openapiBuilder) pathParamSchema(msg *protogen.Message, path string) *oaSchema {
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		var field *protogen.Field
		for _, f := range msg.Fields {
			if string(f.Desc.Name()) == seg {
				field = f
			}
		}
		switch {
		case field == nil:
			return &oaSchema{Type: "string"}
		case i == len(segs)-1:
			if field.Message == nil && !field.Desc.IsList() {
				return b.fieldSchema(field)
			}
			return &oaSchema{Type: "string"}
		case field.Message == nil:
			return &oaSchema{Type: "string"}
		default:
			msg = field.Message
		}
	}
	return &oaSchema{Type: "string"}
}

// queryParams lists the request's top-level scalar fields not bound by the
// path or body, as grpc-gateway reads them from the query string.
func (b *openapiBuilder) queryParams(msg *protogen.Message, bound map[string]bool) []oaParameter {
	var out []oaParameter
	for _, f := range msg.Fields {
		if bound[string(f.Desc.Name())] || f.Message != nil || f.Desc.IsMap() {
			continue
		}
		out = append(out, oaParameter{Name: f.Desc.JSONName(), In: "query", Description: comment(f.Comments.Leading), Schema: b.fieldSchema(f)})
	}
	return out
}

func (b *openapiBuilder) messageRef(msg *protogen.Message) *oaSchema {
	name := string(msg.Desc.FullName())
	if s := wellKnownSchema(name); s != nil {
		return s
	}
	if _, done := b.schemas[name]; !done {
		s := &oaSchema{Type: "object", Description: comment(msg.Comments.Leading), Properties: map[string]*oaSchema{}}
		b.schemas[name] = s // before the fields: recursive messages refer back
		for _, f := range msg.Fields {
			fs := b.fieldSchema(f)
			if d := comment(f.Comments.Leading); d != "" && fs.Ref == "" {
				copied := *fs
				copied.Description = d
				fs = &copied
			}
			s.Properties[f.Desc.JSONName()] = fs
		}
		if len(s.Properties) == 0 {
			s.Properties = nil
		}
	}
	return &oaSchema{Ref: "#/components/schemas/" + name}
}

func (b *openapiBuilder) fieldSchema(f *protogen.Field) *oaSchema {
	fd := f.Desc
	if fd.IsMap() {
		return &oaSchema{Type: "object", AdditionalProperties: b.fieldSchema(f.Message.Fields[1])}
	}
	var s *oaSchema
	switch fd.Kind() {
	case protoreflect.StringKind:
		s = &oaSchema{Type: "string"}
	case protoreflect.BytesKind:
		s = &oaSchema{Type: "string", Format: "byte"}
	case protoreflect.BoolKind:
		s = &oaSchema{Type: "boolean"}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		s = &oaSchema{Type: "integer", Format: "int32"}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		s = &oaSchema{Type: "integer", Format: "int64"}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		// protojson writes 64-bit integers as strings.
		s = &oaSchema{Type: "string", Format: "int64"}
	case protoreflect.FloatKind:
		s = &oaSchema{Type: "number", Format: "float"}
	case protoreflect.DoubleKind:
		s = &oaSchema{Type: "number", Format: "double"}
	case protoreflect.EnumKind:
		s = &oaSchema{Type: "string"}
		for _, v := range f.Enum.Values {
			s.Enum = append(s.Enum, string(v.Desc.Name()))
		}
	default: // messages and groups
		s = b.messageRef(f.Message)
	}
	if fd.IsList() {
		return &oaSchema{Type: "array", Items: s}
	}
	return s
}

func wellKnownSchema(fullName string) *oaSchema {
	switch fullName {
	case "google.protobuf.Timestamp":
		return &oaSchema{Type: "string", Format: "date-time"}
	case "google.protobuf.Duration", "google.protobuf.FieldMask":
		return &oaSchema{Type: "string"}
	case "google.protobuf.Empty", "google.protobuf.Struct", "google.protobuf.Any":
		return &oaSchema{Type: "object"}
	case "google.protobuf.StringValue":
		return &oaSchema{Type: "string"}
	case "google.protobuf.BoolValue":
		return &oaSchema{Type: "boolean"}
	case "google.protobuf.Int32Value", "google.protobuf.UInt32Value":
		return &oaSchema{Type: "integer"}
	case "google.protobuf.Int64Value", "google.protobuf.UInt64Value":
		return &oaSchema{Type: "string", Format: "int64"}
	case "google.protobuf.FloatValue", "google.protobuf.DoubleValue":
		return &oaSchema{Type: "number"}
	}
	return nil
}

// xGovern is the resolved policy as a govern.v1.Policy in protojson form
// (proto field names), so OpenAPI consumers such as govscaffold
// --from-openapi read it back with protojson into the same model.
func xGovern(m *policy.Method) (map[string]any, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(PolicyProto(m))
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// PolicyProto expresses a resolved policy as a govern.v1.Policy, every
// resolved value set explicitly; durations in Go syntax. Resolving it again
// yields m.
func PolicyProto(m *policy.Method) *governv1.Policy {
	p := &governv1.Policy{Sampling: proto.Float64(m.Sampling)}
	if m.Disabled {
		p.Disabled = proto.Bool(true)
	}
	if m.Tier != policy.TierUnspecified {
		p.Tier = governv1.Tier(m.Tier).Enum()
	}
	if m.Timeout > 0 {
		p.Timeout = proto.String(goDuration(m.Timeout))
	}
	if id := m.Idempotency; id != nil {
		p.Idempotency = &governv1.Idempotency{
			Required:  proto.Bool(id.Required),
			KeyFields: id.KeyFields,
			Ttl:       proto.String(goDuration(id.TTL)),
			Lease:     proto.String(goDuration(id.Lease)),
		}
	}
	if r := m.Retry; r != nil {
		p.Retry = &governv1.Retry{
			MaxAttempts:    proto.Uint32(uint32(r.MaxAttempts)),
			InitialBackoff: proto.String(goDuration(r.InitialBackoff)),
			MaxBackoff:     proto.String(goDuration(r.MaxBackoff)),
			Multiplier:     proto.Float64(r.Multiplier),
			Adaptive:       proto.Bool(r.Adaptive),
		}
		for _, c := range r.Codes {
			name, _ := serviceconfig.CodeName(c)
			p.Retry.Codes = append(p.Retry.Codes, name)
		}
		if r.RTTBaseline > 0 {
			p.Retry.RttBaseline = proto.String(goDuration(r.RTTBaseline))
		}
	}
	if rl := m.RateLimit; rl != nil {
		scope := governv1.RateLimit_LOCAL
		if rl.Scope == policy.ScopeDistributed {
			scope = governv1.RateLimit_DISTRIBUTED
		}
		p.RateLimit = &governv1.RateLimit{Rps: proto.Float64(rl.RPS), Burst: proto.Uint32(uint32(rl.Burst)), Scope: scope.Enum()}
	}
	if cb := m.CircuitBreaker; cb != nil {
		p.CircuitBreaker = &governv1.CircuitBreaker{
			FailureRatio:     proto.Float64(cb.FailureRatio),
			MinRequests:      proto.Uint32(cb.MinRequests),
			Window:           proto.String(goDuration(cb.Window)),
			OpenFor:          proto.String(goDuration(cb.OpenFor)),
			HalfOpenRequests: proto.Uint32(cb.HalfOpenRequests),
		}
	}
	return p
}

// goDuration is time.Duration's String without zero trailing units:
// "24h", "1m30s", "800ms".
func goDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
