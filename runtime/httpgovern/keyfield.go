package httpgovern

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/govkit/govern/runtime/policy"
)

// KeyField is one source of an operation's derived idempotency key: a
// request body property, a path parameter or a query parameter. The
// generator writes them from x-govern's idempotency.key_fields.
type KeyField struct {
	// In is "body", "path" or "query".
	In string
	// Name is the parameter name, or the body property path as JSON
	// pointer segments joined by "/" (unescaped: "order/sn").
	Name string
}

// BodyField is a body property, given by its path segments ("order", "sn").
func BodyField(segments ...string) KeyField {
	return KeyField{In: "body", Name: strings.Join(segments, "/")}
}

// PathParam is a path parameter of the route template.
func PathParam(name string) KeyField { return KeyField{In: "path", Name: name} }

// QueryParam is a query parameter.
func QueryParam(name string) KeyField { return KeyField{In: "query", Name: name} }

// KeyInput is what the middleware passes to an HTTP operation's
// policy.KeyFunc: the request (path values set by the ServeMux) and its
// buffered body.
type KeyInput struct {
	Request *http.Request
	Body    []byte
}

// KeyFunc derives an idempotency key from the fields, in order, joined by
// policy.JoinKey. It reports false when any field is absent or empty (a
// partial key must never deduplicate unrelated calls), when the body is
// not a JSON object, or when a body value is not a string, number or
// boolean.
func KeyFunc(fields ...KeyField) policy.KeyFunc {
	needBody := false
	paths := make([][]string, len(fields))
	for i, f := range fields {
		if f.In == "body" {
			needBody = true
			paths[i] = strings.Split(f.Name, "/")
		}
	}
	return func(req any) (string, bool) {
		in, ok := req.(*KeyInput)
		if !ok || in == nil || in.Request == nil {
			return "", false
		}
		var body map[string]any
		if needBody {
			dec := json.NewDecoder(bytes.NewReader(in.Body))
			dec.UseNumber() // integers keep their text form
			if dec.Decode(&body) != nil {
				return "", false
			}
		}
		parts := make([]string, len(fields))
		for i, f := range fields {
			var v string
			switch f.In {
			case "path":
				v = in.Request.PathValue(f.Name)
			case "query":
				v = in.Request.URL.Query().Get(f.Name)
			default:
				v, ok = bodyValue(body, paths[i])
				if !ok {
					return "", false
				}
			}
			if v == "" {
				return "", false
			}
			parts[i] = v
		}
		return policy.JoinKey(parts...), true
	}
}

func bodyValue(obj map[string]any, path []string) (string, bool) {
	var cur any = obj
	for _, seg := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		cur = m[seg]
	}
	switch v := cur.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	return "", false
}
