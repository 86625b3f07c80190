package audit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNothingMatchedIsAnError checks that an audit of nothing fails and
// says why, instead of printing "0 of 0 services fully governed".
func TestNothingMatchedIsAnError(t *testing.T) {
	if testing.Short() {
		t.Skip("loads modules with go/packages")
	}
	env := append(os.Environ(), "GOWORK=off")

	// A parent module whose services live in a nested module.
	parent, noModule := t.TempDir(), t.TempDir()
	for name, content := range map[string]string{
		"go.mod":                   "module example.com/parent\n\ngo 1.26\n",
		"svc/go.mod":               "module example.com/svc\n\ngo 1.26\n",
		"svc/cmd/api/main.go":      "package main\n\nfunc main() {}\n",
		"nomod/readme.txt":         "",
		"outside/svc2/go.mod":      "module example.com/svc2\n\ngo 1.26\n",
		"outside/svc2/cmd/main.go": "package main\n\nfunc main() {}\n",
	} {
		path := filepath.Join(parent, filepath.FromSlash(name))
		if rest, ok := strings.CutPrefix(name, "outside/"); ok {
			// A directory of modules, outside any module.
			path = filepath.Join(noModule, filepath.FromSlash(rest))
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fleetDir := fleet(t)

	tests := []struct {
		name     string
		dir      string
		patterns []string
		want     []string
		notWant  []string
	}{
		{
			name: "module with only nested modules",
			dir:  parent,
			want: []string{"./... matched no packages in " + parent, "nested modules", ": svc (audit one with --dir", "govscaffold audit --dir " + filepath.Join(parent, "svc") + " ./..."},
		},
		{
			name: "directory outside any module",
			dir:  noModule,
			want: []string{"./... (", "does not contain main module", "svc2 (audit one with --dir"},
		},
		{
			name:     "one of two patterns matches nothing",
			dir:      fleetDir,
			patterns: []string{"./cmd/legacy", "./nothere/..."},
			want:     []string{"./nothere/... (", "matched no packages"},
			notWant:  []string{"./cmd/legacy"},
		},
		{
			name:     "import path pattern that matches nothing",
			dir:      fleetDir,
			patterns: []string{"./cmd/...", "example.com/other/..."},
			want:     []string{"example.com/other/... matched no packages"},
			notWant:  []string{"./cmd/..."},
		},
		{
			name:     "packages but no service",
			dir:      fleetDir,
			patterns: []string{"./lib/..."},
			want:     []string{"./lib/... matched", "but no service"},
		},
	}
	// audit and audit --graph read the same packages the same way.
	commands := map[string]func(Config) (any, error){
		"audit": func(cfg Config) (any, error) { return Run(t.Context(), cfg) },
		"graph": func(cfg Config) (any, error) { return BuildGraph(t.Context(), cfg) },
	}
	for _, tt := range tests {
		for command, run := range commands {
			t.Run(command+"/"+tt.name, func(t *testing.T) {
				result, err := run(Config{Dir: tt.dir, Patterns: tt.patterns, Env: env})
				if !errors.Is(err, ErrNothingToAudit) {
					t.Fatalf("%s = %+v, %v; want ErrNothingToAudit", command, result, err)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				for _, w := range tt.notWant {
					if strings.Contains(err.Error(), w) {
						t.Errorf("error names %q, which matched:\n%v", w, err)
					}
				}
			})
		}
	}
}
