package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

func TestEveryCommandHasHelpAndExamples(t *testing.T) {
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" || (c.Parent() != nil && c.Parent().Name() == "completion") {
			return
		}
		if c.Short == "" || c.Example == "" {
			t.Errorf("%q lacks a short description or examples", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCommand())
}

func TestValidateConfigExitStatus(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	warn := filepath.Join(dir, "warn.yaml")
	for path, content := range map[string]string{
		clean: "service: a\nenv: production\nregion: us-west-2\nsampling: 0.01\n",
		bad:   "service: a\nenv: production\nregion: us-west-2\nsampling: 0.5\n",
		warn:  "service: a\nenv: dev\nregion: us-west-2\nextra: 1\n",
	} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		args     []string
		wantFail bool
		wantOut  string
	}{
		{[]string{"validate-config", clean}, false, ""},
		{[]string{"validate-config", bad}, true, "bad.yaml:4: production sampling 0.5 exceeds"},
		{[]string{"validate-config", warn}, false, "warn.yaml:4: warning: unknown top-level key"},
		{[]string{"validate-config", "--strict", warn}, true, "warn.yaml:4: warning:"},
		{[]string{"validate-config", "--allowed-regions", "eu-west-1,eu-central-1", clean}, true, `region "us-west-2" is not in the allowed set`},
		{[]string{"validate-config", "--region-pattern", "^eu-", clean}, true, `region "us-west-2" does not match the allowed pattern ^eu-`},
		{[]string{"validate-config", "--region-pattern", "^us-", clean}, false, ""},
	}
	for _, tt := range tests {
		out, err := execute(t, tt.args...)
		var silent exitError
		if tt.wantFail != (err != nil) || (err != nil && !errors.As(err, &silent)) {
			t.Errorf("%v: err = %v, want failure %v", tt.args, err, tt.wantFail)
		}
		if !strings.Contains(out, tt.wantOut) {
			t.Errorf("%v: output %q lacks %q", tt.args, out, tt.wantOut)
		}
	}
	if _, err := execute(t, "validate-config", filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "config.yaml") {
		t.Errorf("missing file: %v, want an error naming what to pass", err)
	}
}

func TestTemplatesExportAndList(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tpl")
	out, err := execute(t, "templates", "export", dir)
	if err != nil || !strings.Contains(out, "templates to") {
		t.Fatalf("export: %v %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "cmd/__name__/main.go.tmpl")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Makefile.tmpl"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = execute(t, "templates", "list", "--template-dir", dir)
	if err != nil || !strings.Contains(out, filepath.Join(dir, "Makefile.tmpl")) {
		t.Fatalf("list: %v %s", err, out)
	}
	if _, err := execute(t, "templates", "export", dir); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second export: %v, want a refusal naming --force", err)
	}
}

func TestNewServiceRejectsBadNames(t *testing.T) {
	_, err := execute(t, "new", "service", "Bad-Name", "--out", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "lower-case") {
		t.Fatalf("err = %v", err)
	}
}
