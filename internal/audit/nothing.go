package audit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

// ErrNothingToAudit is wrapped by Run's error when a pattern matches no
// package or the packages matched hold no service: an audit of nothing is
// a mistake (a wrong directory, a nested module), never a clean result.
var ErrNothingToAudit = errors.New("nothing to audit")

// withDefaults fills in what an empty Config means: the current
// directory, ./... .
func withDefaults(cfg Config) Config {
	if cfg.Dir == "" {
		cfg.Dir = "."
	}
	if len(cfg.Patterns) == 0 {
		cfg.Patterns = []string{"./..."}
	}
	return cfg
}

// load loads cfg's packages, failing when a pattern matched nothing: what
// audit and audit --graph read.
func load(ctx context.Context, cfg Config) ([]*packages.Package, error) {
	pkgs, err := packages.Load(&packages.Config{Context: ctx, Mode: loadMode, Dir: cfg.Dir, Env: cfg.Env}, cfg.Patterns...)
	if err != nil {
		return nil, fmt.Errorf("load packages: %w", err)
	}
	if err := checkPatterns(cfg, pkgs); err != nil {
		return nil, err
	}
	return pkgs, nil
}

// checkPatterns fails when a pattern matched no package, naming it with
// go's reason and the nested modules under cfg.Dir that --dir reaches.
func checkPatterns(cfg Config, pkgs []*packages.Package) error {
	var real []*packages.Package
	reasons := map[string]string{}
	for _, p := range pkgs {
		// go list reports a pattern it cannot expand as a package named
		// after the pattern, with no name and the reason as its error.
		if p.Name == "" && slices.Contains(cfg.Patterns, p.ID) && len(p.Errors) > 0 {
			reasons[p.ID] = strings.TrimPrefix(p.Errors[0].Msg, "pattern "+p.ID+": ")
			continue
		}
		real = append(real, p)
	}
	absDir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", cfg.Dir, err)
	}
	var empty []string
	for _, pattern := range cfg.Patterns {
		if reason, ok := reasons[pattern]; ok {
			empty = append(empty, fmt.Sprintf("%s (%s)", pattern, reason))
			continue
		}
		if !matchesAny(pattern, absDir, real) {
			empty = append(empty, pattern)
		}
	}
	if len(empty) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s matched no packages in %s%s", ErrNothingToAudit, strings.Join(empty, ", "), cfg.Dir, nestedModuleHint(absDir, cfg.Dir))
}

// noServices explains an audit that found packages but no service.
func noServices(cfg Config, matched int, tools []string) error {
	var detail string
	if len(tools) > 0 {
		detail = "; main packages that start no server are tools: " + strings.Join(tools, ", ")
	}
	if absDir, err := filepath.Abs(cfg.Dir); err == nil {
		detail += nestedModuleHint(absDir, cfg.Dir)
	}
	return fmt.Errorf("%w: %s matched %d packages in %s but no service (a main package that starts a gRPC or HTTP server)%s",
		ErrNothingToAudit, strings.Join(cfg.Patterns, " "), matched, cfg.Dir, detail)
}

// matchesAny reports whether pattern, a go package pattern (a relative
// directory pattern such as ./cmd/... or an import path pattern), matches
// one of pkgs.
func matchesAny(pattern, absDir string, pkgs []*packages.Package) bool {
	switch pattern {
	case "all", "std", "cmd", "tool", "work":
		return len(pkgs) > 0
	}
	relative := pattern == "." || pattern == ".." || strings.HasPrefix(pattern, "./") || strings.HasPrefix(pattern, "../") || filepath.IsAbs(pattern)
	if relative && !filepath.IsAbs(pattern) {
		pattern = filepath.Join(absDir, pattern)
		if strings.HasSuffix(filepath.ToSlash(pattern), "...") && !strings.HasSuffix(pattern, "...") {
			pattern += "..."
		}
	}
	match := patternRegexp(filepath.ToSlash(pattern))
	for _, p := range pkgs {
		subject := p.PkgPath
		if relative {
			if len(p.GoFiles) > 0 {
				subject = filepath.ToSlash(filepath.Dir(p.GoFiles[0]))
			} else if len(p.CompiledGoFiles) > 0 {
				subject = filepath.ToSlash(filepath.Dir(p.CompiledGoFiles[0]))
			}
		}
		if match.MatchString(subject) {
			return true
		}
	}
	return false
}

// patternRegexp compiles a go package pattern: "..." matches any string,
// and a trailing "/..." also matches the path before it.
func patternRegexp(pattern string) *regexp.Regexp {
	re := regexp.QuoteMeta(pattern)
	re = strings.ReplaceAll(re, `\.\.\.`, `.*`)
	if strings.HasSuffix(re, `/.*`) {
		re = strings.TrimSuffix(re, `/.*`) + `(/.*)?`
	}
	return regexp.MustCompile(`^` + re + `$`)
}

// nestedModuleHint names the modules below dir (directories with their own
// go.mod, which dir's patterns never reach) and the --dir that audits them,
// spelling dir as the user did (display).
func nestedModuleHint(dir, display string) string {
	var nested []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != dir && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" || name == "node_modules") {
			return filepath.SkipDir
		}
		if path == dir {
			return nil
		}
		if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
			rel, _ := filepath.Rel(dir, path)
			nested = append(nested, rel)
			return filepath.SkipDir
		}
		return nil
	})
	if len(nested) == 0 {
		return ""
	}
	slices.Sort(nested)
	const shown = 5
	more := ""
	if len(nested) > shown {
		more = fmt.Sprintf(" and %d more", len(nested)-shown)
		nested = nested[:shown]
	}
	return fmt.Sprintf("; %s has nested modules, which its patterns do not reach: %s%s (audit one with --dir, e.g. govscaffold audit --dir %s ./...)",
		display, strings.Join(nested, ", "), more, filepath.Join(display, nested[0]))
}
