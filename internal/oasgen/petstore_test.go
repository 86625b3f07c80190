package oasgen

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPublicPetstoreBuilds runs the generator over a document govern did
// not write: the Swagger Petstore 3 fixture shipped in kin-openapi's module
// (read from the module cache, not copied), with x-govern added here, and
// compiles the result.
func TestPublicPetstoreBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles generated code")
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/getkin/kin-openapi").Output()
	if err != nil {
		t.Fatalf("locating kin-openapi in the module cache: %v", err)
	}
	src := filepath.Join(strings.TrimSpace(string(out)), "openapi3filter", "testdata", "fixtures", "petstore.json")
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	// oapi-codegen v2.8.2 emits inline enum types of XML response bodies it
	// never declares ("undefined: FindPets200XMLResponseBodyStatus"): keep
	// each response's JSON form only, where it has one. Nothing else of the
	// document is changed.
	for _, item := range doc["paths"].(map[string]any) {
		for _, op := range item.(map[string]any) {
			responses, _ := op.(map[string]any)["responses"].(map[string]any)
			for _, r := range responses {
				content, _ := r.(map[string]any)["content"].(map[string]any)
				if _, ok := content["application/json"]; ok {
					delete(content, "application/xml")
				}
			}
		}
	}
	govern := func(path, method string, x map[string]any) {
		op := doc["paths"].(map[string]any)[path].(map[string]any)[method].(map[string]any)
		op["x-govern"] = x
	}
	doc["x-govern"] = map[string]any{"tier": "TIER_SILVER", "timeout": "2s"}
	govern("/pet", "post", map[string]any{
		"idempotency": map[string]any{"key_fields": []string{"name"}},
		"retry":       map[string]any{"max_attempts": 3},
		"rate_limit":  map[string]any{"rps": 100},
	})
	govern("/pet/{petId}", "get", map[string]any{"timeout": "300ms", "retry": map[string]any{}, "circuit_breaker": map[string]any{"failure_ratio": 0.5}})
	govern("/pet/{petId}", "delete", map[string]any{"retry": map[string]any{"max_attempts": 2}})
	govern("/store/order", "post", map[string]any{"idempotency": map[string]any{"required": true}})
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Generate(data, Options{Package: "petstore", Source: "petstore.json"})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`"addPet":\s+_AddPet_policy`).Match(files[PolicyFile]) {
		t.Errorf("policy table lacks addPet:\n%s", files[PolicyFile])
	}
	compile(t, files)
}

// compile builds the generated files as a package of this module through
// an overlay, so they link against this checkout of govern.
func compile(t *testing.T, files map[string][]byte) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	pkgDir := filepath.Join(wd, "zz_generated_build_check")
	tmp := t.TempDir()
	overlay := map[string]map[string]string{"Replace": {}}
	for name, content := range files {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		overlay["Replace"][filepath.Join(pkgDir, name)] = p
	}
	ov, err := json.Marshal(overlay)
	if err != nil {
		t.Fatal(err)
	}
	ovPath := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovPath, ov, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-overlay", ovPath, "./zz_generated_build_check")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generated code does not build: %v\n%s", err, out)
	}
}
