package scaffold

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/govkit/govern/templates"
)

// OverrideDirName is the directory, relative to a service root, whose
// templates replace the embedded ones of the same relative path.
const OverrideDirName = ".govscaffold/templates"

// TemplateSet is the embedded templates with an optional override
// directory laid over them: a file in the override directory replaces the
// embedded template of the same relative path, and a file with a new path
// adds one.
type TemplateSet struct {
	embedded    fs.FS
	overrideDir string
}

// newOpenAPITemplateSet is NewTemplateSet over the templates of an
// HTTP-first service (templates.OpenAPIService).
func newOpenAPITemplateSet(overrideDir string) (*TemplateSet, error) {
	s, err := NewTemplateSet(overrideDir)
	if err != nil {
		return nil, err
	}
	s.embedded = templates.OpenAPIService()
	return s, nil
}

// NewTemplateSet returns the embedded set, overridden by overrideDir when it
// is not empty. A missing override directory is an error, so that a typo in
// --template-dir does not silently produce the stock output.
func NewTemplateSet(overrideDir string) (*TemplateSet, error) {
	if overrideDir != "" {
		st, err := os.Stat(overrideDir)
		if err != nil {
			return nil, fmt.Errorf("template override directory: %w (create it with `govscaffold templates export DIR`)", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("template override %s is not a directory", overrideDir)
		}
	}
	return &TemplateSet{embedded: templates.Service(), overrideDir: overrideDir}, nil
}

// Template is one template of a set.
type Template struct {
	// Name is the path relative to the service root, with ".tmpl".
	Name string
	// Source says where the text came from: "embedded" or the override file's path.
	Source string
	Text   string
}

// Templates lists the set, sorted by name.
func (s *TemplateSet) Templates() ([]Template, error) {
	byName := map[string]Template{}
	err := fs.WalkDir(s.embedded, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		text, err := fs.ReadFile(s.embedded, p)
		if err != nil {
			return err
		}
		byName[p] = Template{Name: p, Source: "embedded", Text: string(text)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read embedded templates: %w", err)
	}
	if s.overrideDir != "" {
		err := filepath.WalkDir(s.overrideDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(s.overrideDir, p)
			if err != nil {
				return err
			}
			text, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			name := filepath.ToSlash(rel)
			byName[name] = Template{Name: name, Source: p, Text: string(text)}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read template overrides: %w", err)
		}
	}
	out := make([]Template, 0, len(byName))
	for _, t := range byName {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// File is one rendered file.
type File struct {
	// Path is relative to the service root, slash-separated.
	Path     string
	Content  []byte
	Template Template
}

// Render renders every template of the set with data. A template that
// renders to nothing but white space is skipped, so a template can opt out
// with a condition ({{if .HTTP}}...{{end}}). Go files are gofmt-ed.
func (s *TemplateSet) Render(data *Data) ([]File, error) {
	list, err := s.Templates()
	if err != nil {
		return nil, err
	}
	var files []File
	var errs []error
	for _, t := range list {
		f, err := renderOne(t, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(bytes.TrimSpace(f.Content)) > 0 {
			files = append(files, f)
		}
	}
	return files, errors.Join(errs...)
}

// TemplateError is a template that does not parse, does not execute or
// renders Go that does not parse. Error names the template, where it came
// from and the line.
type TemplateError struct {
	Template Template
	Err      error
}

func (e *TemplateError) Error() string {
	where := "embedded template"
	if e.Template.Source != "embedded" {
		where = "override " + e.Template.Source
	}
	return fmt.Sprintf("template %s (%s): %v", e.Template.Name, where, e.Err)
}

func (e *TemplateError) Unwrap() error { return e.Err }

func renderOne(t Template, data *Data) (File, error) {
	tmpl, err := template.New(t.Name).Option("missingkey=error").Funcs(funcs).Parse(t.Text)
	if err != nil {
		return File{}, &TemplateError{Template: t, Err: err}
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return File{}, &TemplateError{Template: t, Err: err}
	}
	out := strings.TrimSuffix(t.Name, ".tmpl")
	out = strings.ReplaceAll(out, "__name__", data.Name)
	content := buf.Bytes()
	if path.Ext(out) == ".go" && len(bytes.TrimSpace(content)) > 0 {
		formatted, err := format.Source(content)
		if err != nil {
			return File{}, &TemplateError{Template: t, Err: fmt.Errorf("renders Go that does not parse (line numbers are of the output): %w", err)}
		}
		content = formatted
	}
	return File{Path: out, Content: content, Template: t}, nil
}

var funcs = template.FuncMap{
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
}

// ExportTemplates writes the embedded templates under dir, for editing and
// use with --template-dir. It refuses to overwrite existing files unless
// force is set.
func ExportTemplates(dir string, force bool) ([]string, error) {
	set, err := NewTemplateSet("")
	if err != nil {
		return nil, err
	}
	list, err := set.Templates()
	if err != nil {
		return nil, err
	}
	var written []string
	for _, t := range list {
		p := filepath.Join(dir, filepath.FromSlash(t.Name))
		if err := writeFile(p, []byte(t.Text), force); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}

// writeFile writes content to p, creating directories, and refuses to
// replace an existing file unless force is set.
func writeFile(p string, content []byte, force bool) error {
	if !force {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists: pass --force to overwrite it: %w", p, fs.ErrExist)
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}
