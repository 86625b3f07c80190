package oasgen

import (
	"fmt"
	"strings"
	"testing"
)

// spec200 is a document of n operations, each with its own x-govern, a
// request body schema and key fields.
func specN(n int) []byte {
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo: {title: big, version: '1'}\nx-govern: {tier: TIER_SILVER, timeout: 1s}\npaths:\n")
	for i := range n / 2 {
		fmt.Fprintf(&b, `  /things%d:
    post:
      operationId: createThing%d
      x-govern: {idempotency: {required: true, key_fields: [client_id]}, retry: {max_attempts: 3}, rate_limit: {rps: 100}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Thing'}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}
  /things%d/{id}:
    get:
      operationId: getThing%d
      x-govern: {timeout: 200ms, circuit_breaker: {failure_ratio: 0.5}}
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}
`, i, i, i, i)
	}
	b.WriteString("components:\n  schemas:\n    Thing:\n      type: object\n      required: [client_id]\n      properties:\n        client_id: {type: string}\n        name: {type: string}\n")
	return []byte(b.String())
}

// BenchmarkGenerate200 generates the API package of a 200-operation
// document: validation, resolution, oapi-codegen and the policy table.
func BenchmarkGenerate200(b *testing.B) {
	data := specN(200)
	for b.Loop() {
		if _, err := Generate(data, Options{Package: "api", Source: "api.yaml"}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestGenerate200(t *testing.T) {
	files, err := Generate(specN(200), Options{Package: "api", Source: "api.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(files[PolicyFile]), "_policy = &policy.Method{"); n != 200 {
		t.Errorf("%d policies, want 200", n)
	}
}
