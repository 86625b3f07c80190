//go:build unix

package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govkit/govern/internal/protodriver"
	"github.com/govkit/govern/internal/scaffold"
)

// BenchmarkAuditFleet audits GOVSCAFFOLD_FLEET (default 127) services
// scaffolded by `new service` into one temp workspace module. Setup
// (scaffolding and one protodriver run over every proto) is not timed; the
// first iteration compiles the fleet's packages for export data, later ones
// run on a warm build cache.
//
//	go test ./internal/audit -run '^$' -bench AuditFleet -benchtime 2x
//
// GOVSCAFFOLD_FLEET sets the number of services, GOVSCAFFOLD_GOVERN the
// govern tree they build against (default this checkout).
func BenchmarkAuditFleet(b *testing.B) {
	n := 127
	if v := os.Getenv("GOVSCAFFOLD_FLEET"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	dir := scaffoldFleet(b, n)
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	var report *Report
	startCPU := cpuTime()
	for b.Loop() {
		var err error
		iterationCPU := cpuTime()
		report, err = Run(b.Context(), Config{Dir: dir, Analyzers: DefaultAnalyzers(), Env: env})
		if err != nil {
			b.Fatal(err)
		}
		// The first audit of a fleet compiles its packages for export
		// data; later ones find them in the build cache.
		b.Logf("audit of %d services: %s wall, %s CPU", len(report.Services), report.Elapsed.Round(time.Millisecond), (cpuTime() - iterationCPU).Round(time.Millisecond))
	}
	if len(report.Services) != n {
		b.Fatalf("audited %d services, want %d", len(report.Services), n)
	}
	governed := 0
	for _, s := range report.Services {
		if s.Governed() {
			governed++
		} else if governed == 0 {
			b.Logf("%s: %v", s.Package, s.Problems)
		}
	}
	// CPU seconds (this process and go list) per audit: what the wall time
	// would be on one idle core, when the machine is shared.
	b.ReportMetric((cpuTime()-startCPU).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(n), "services")
	b.ReportMetric(float64(governed), "governed")
}

// scaffoldFleet writes n services as directories of one module
// example.com/fleet and generates all their code with one protodriver run.
func scaffoldFleet(b *testing.B, n int) string {
	b.Helper()
	// GOVSCAFFOLD_GOVERN points the fleet at a frozen govern tree (e.g. a
	// `git archive` of HEAD), so that edits to this checkout during the run
	// do not invalidate the build cache between iterations.
	root := os.Getenv("GOVSCAFFOLD_GOVERN")
	if root == "" {
		root = "../.."
	}
	root, err := filepath.Abs(root)
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "fleet")
	gen := &protodriver.BufGen{}
	for i := range n {
		name := fmt.Sprintf("svc%03d", i)
		out := filepath.Join(dir, name)
		_, err := scaffold.NewService(b.Context(), scaffold.Options{
			Name: name, Module: "example.com/fleet/" + name, OutDir: out,
			GovernPath: root, HTTP: true, NoGenerate: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			// The first service's go.mod (govern requirements and the
			// plugin tools) becomes the workspace module's.
			gomod, err := os.ReadFile(filepath.Join(out, "go.mod"))
			if err != nil {
				b.Fatal(err)
			}
			gomod = []byte(strings.Replace(string(gomod), "module example.com/fleet/"+name, "module example.com/fleet", 1))
			if err := os.WriteFile(filepath.Join(dir, "go.mod"), gomod, 0o644); err != nil {
				b.Fatal(err)
			}
			if err := os.Rename(filepath.Join(out, "go.sum"), filepath.Join(dir, "go.sum")); err != nil {
				b.Fatal(err)
			}
			cfg, err := protodriver.LoadBufGen(out)
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range cfg.Plugins {
				gen.Plugins = append(gen.Plugins, protodriver.Plugin{Command: p.Command, Out: ".", Parameter: "module=example.com/fleet"})
			}
		}
		for _, f := range []string{"go.mod", "go.sum"} {
			if err := os.Remove(filepath.Join(out, f)); err != nil && !os.IsNotExist(err) {
				b.Fatal(err)
			}
		}
		gen.Inputs = append(gen.Inputs, filepath.Join(name, "proto"))
	}
	written, err := gen.Generate(b.Context(), dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	if len(written) < 4*n {
		b.Fatalf("generated %d files for %d services", len(written), n)
	}
	return dir
}

// cpuTime is the user+system CPU time of this process and its waited-for
// children.
func cpuTime() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}
