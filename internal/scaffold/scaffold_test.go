package scaffold

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// governRoot is this checkout, used as the replace target in tests.
const governRoot = "../.."

func testData(t *testing.T, opts Options) *Data {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "payment"
	}
	opts.GovernPath = governRoot
	d, err := newData(opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func render(t *testing.T, overrideDir string, d *Data) map[string]string {
	t.Helper()
	set, err := NewTemplateSet(overrideDir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := set.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		out[f.Path] = string(f.Content)
	}
	return out
}

func TestRenderVariants(t *testing.T) {
	tests := []struct {
		name        string
		opts        Options
		wantFiles   []string
		contains    map[string]string
		notContains map[string]string
	}{
		{
			name:      "defaults",
			opts:      Options{HTTP: true},
			wantFiles: []string{"go.mod", "buf.yaml", "buf.gen.yaml", "config.yaml", "Makefile", "Dockerfile", "deploy/k8s/deployment.yaml", "deploy/k8s/service.yaml", "proto/payment/v1/payment.proto", "cmd/payment/main.go", "cmd/payment/main_test.go", "internal/server/server.go", "internal/config/config.go"},
			contains: map[string]string{
				"go.mod":                         "replace github.com/govkit/govern => ",
				"proto/payment/v1/payment.proto": "tier: TIER_SILVER",
				"cmd/payment/main.go":            "RegisterPaymentServiceGateway",
				"deploy/k8s/deployment.yaml":     "path: /readyz",
				"config.yaml":                    "store: memory",
			},
		},
		{
			name:        "gold, redis, no http",
			opts:        Options{Tier: "gold", Redis: true, HTTP: false, Module: "corp.example/pay"},
			contains:    map[string]string{"proto/payment/v1/payment.proto": "tier: TIER_GOLD", "config.yaml": "store: redis", "go.mod": "module corp.example/pay\n"},
			notContains: map[string]string{"cmd/payment/main.go": "Gateway", "deploy/k8s/service.yaml": "name: http", "cmd/payment/main_test.go": "/v1/items"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := render(t, "", testData(t, tt.opts))
			for _, f := range tt.wantFiles {
				if _, ok := files[f]; !ok {
					t.Errorf("missing %s", f)
				}
			}
			for f, s := range tt.contains {
				if !strings.Contains(files[f], s) {
					t.Errorf("%s lacks %q", f, s)
				}
			}
			for f, s := range tt.notContains {
				if strings.Contains(files[f], s) {
					t.Errorf("%s contains %q", f, s)
				}
			}
		})
	}
}

func TestGoModCopiesGovernRequirements(t *testing.T) {
	d := testData(t, Options{})
	gomod := render(t, "", d)["go.mod"]
	governMod, err := os.ReadFile(filepath.Join(governRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(governMod), "google.golang.org/grpc v") {
		t.Fatal("fixture assumption: govern requires grpc")
	}
	for _, r := range d.Requires {
		if !strings.Contains(gomod, r.Path+" "+r.Version) {
			t.Errorf("go.mod lacks %s %s", r.Path, r.Version)
		}
	}
	for _, tool := range []string{"protoc-gen-go\n", "protoc-gen-go-grpc\n", "protoc-gen-grpc-gateway\n", "cmd/protoc-gen-govern\n", "cmd/govern-lint\n"} {
		if !strings.Contains(gomod, tool) {
			t.Errorf("go.mod lacks tool %q", tool)
		}
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, opts := range []Options{
		{Name: "Payment"}, {Name: "pay-ment"}, {Name: "1pay"}, {Name: ""},
		{Name: "pay", Tier: "platinum"},
		{Name: "pay", Module: "/abs/path"},
		{Name: "pay", GovernPath: os.TempDir()},
	} {
		if opts.GovernPath == "" {
			opts.GovernPath = governRoot
		}
		if _, err := newData(opts); err == nil {
			t.Errorf("%+v: want an error", opts)
		}
	}
}

func TestOverrideReplacesByRelativePath(t *testing.T) {
	dir := t.TempDir()
	writeTemplate(t, dir, "Makefile.tmpl", "# platform Makefile for {{.Name}}\n")
	writeTemplate(t, dir, "deploy/extra/{{.Name}}.txt.tmpl", "")
	writeTemplate(t, dir, "NOTICE.tmpl", "owned by the platform team: {{.Service}}\n")
	files := render(t, dir, testData(t, Options{}))
	if got := files["Makefile"]; got != "# platform Makefile for payment\n" {
		t.Errorf("Makefile = %q, want the override", got)
	}
	if got := files["NOTICE"]; got != "owned by the platform team: PaymentService\n" {
		t.Errorf("added template NOTICE = %q", got)
	}
	if _, ok := files["deploy/extra/payment.txt"]; ok {
		t.Error("a template rendering to nothing must be skipped")
	}
	if !strings.Contains(files["go.mod"], "module example.com/payment") {
		t.Error("templates that are not overridden must stay embedded")
	}
}

func TestBrokenOverrideNamesTemplateAndLine(t *testing.T) {
	tests := []struct {
		name, path, text string
		want             []string
	}{
		{"parse error", "Makefile.tmpl", "line one\nline two {{.Name\n", []string{"template Makefile.tmpl (override ", "Makefile.tmpl:2"}},
		{"unknown field", "config.yaml.tmpl", "a\nb\nservice: {{.Nmae}}\n", []string{"template config.yaml.tmpl", ":3:", "Nmae"}},
		{"bad Go", "internal/server/server.go.tmpl", "package server\n\nfunc {\n", []string{"template internal/server/server.go.tmpl", "does not parse", "3:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTemplate(t, dir, tt.path, tt.text)
			set, err := NewTemplateSet(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = set.Render(testData(t, Options{}))
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("want a TemplateError, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestExportRoundTrips(t *testing.T) {
	dir := t.TempDir()
	written, err := ExportTemplates(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) < 10 {
		t.Fatalf("exported only %d templates", len(written))
	}
	d := testData(t, Options{HTTP: true})
	embedded, exported := render(t, "", d), render(t, dir, d)
	if len(embedded) != len(exported) {
		t.Fatalf("exported set renders %d files, embedded %d", len(exported), len(embedded))
	}
	for path, content := range embedded {
		if exported[path] != content {
			t.Errorf("%s differs after export", path)
		}
	}
	if _, err := ExportTemplates(dir, false); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second export without force: %v, want ErrExist", err)
	}
}

func TestNewServiceRefusesToOverwrite(t *testing.T) {
	out := t.TempDir()
	opts := Options{Name: "payment", OutDir: out, GovernPath: governRoot, HTTP: true, NoGenerate: true}
	var progress bytes.Buffer
	opts.Progress = &progress
	res, err := NewService(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) == 0 || !strings.Contains(progress.String(), "writing") {
		t.Fatalf("result %+v, progress %q", res, progress.String())
	}
	main := filepath.Join(out, "cmd/payment/main.go")
	if err := os.WriteFile(main, []byte("package main // edited by the owner\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = NewService(t.Context(), opts)
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second run: %v, want a refusal naming --force", err)
	}
	if got, _ := os.ReadFile(main); !bytes.Contains(got, []byte("edited by the owner")) {
		t.Fatal("refused run still changed the file")
	}
	opts.Force = true
	if _, err := NewService(t.Context(), opts); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(main); bytes.Contains(got, []byte("edited by the owner")) {
		t.Fatal("--force did not rewrite the file")
	}
}

func TestTargetOverrideDirIsPickedUp(t *testing.T) {
	out := t.TempDir()
	writeTemplate(t, filepath.Join(out, OverrideDirName), "Dockerfile.tmpl", "FROM platform/base\n")
	_, err := NewService(t.Context(), Options{Name: "payment", OutDir: out, GovernPath: governRoot, NoGenerate: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "Dockerfile")); string(got) != "FROM platform/base\n" {
		t.Errorf("Dockerfile = %q, want the .govscaffold override", got)
	}
}

func writeTemplate(t *testing.T, dir, name, text string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzOverrideTemplate feeds arbitrary override text: rendering either
// succeeds or fails with a TemplateError naming the template, never panics.
func FuzzOverrideTemplate(f *testing.F) {
	for _, seed := range []string{"{{.Name}}", "{{.Nope}}", "{{if}}", "{{range .Requires}}{{.Path}}{{end}}", "package x\nfunc {", "{{define \"a\"}}{{template \"a\"}}{{end}}{{template \"a\"}}"} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	d, err := newData(Options{Name: "payment", GovernPath: governRoot})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string, goFile bool) {
		name := "NOTES.tmpl"
		if goFile {
			name = "internal/extra/extra.go.tmpl"
		}
		_, err := renderOne(Template{Name: name, Source: "/override/" + name, Text: text}, d)
		var te *TemplateError
		if err != nil && (!errors.As(err, &te) || !strings.Contains(err.Error(), name)) {
			t.Fatalf("error %v does not name the template", err)
		}
	})
}
