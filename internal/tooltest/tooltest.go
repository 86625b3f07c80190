// Package tooltest gives tests the project's one rule for external tools
// (promtool and prometheus from Debian's prometheus package, chromium): find
// the binary on PATH; when it is missing, skip with a message naming the
// install command, except under CI (the CI environment variable is set),
// where the package is installed with apt-get when possible and a tool that
// is still missing fails the test, so a broken CI machine never passes by
// skipping.
package tooltest

import (
	"os"
	"os/exec"
	"sync"
	"testing"
)

var installs sync.Map // Debian package -> *sync.Once

// Need returns the path of the binary name, shipped by the Debian package
// pkg.
func Need(tb testing.TB, name, pkg string) string {
	tb.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	install := "apt-get update && apt-get install -y " + pkg
	if os.Getenv("CI") == "" {
		tb.Skipf("%s is not installed: run `%s` (Debian) to run this test", name, install)
	}
	once, _ := installs.LoadOrStore(pkg, new(sync.Once))
	var out []byte
	once.(*sync.Once).Do(func() {
		out, _ = exec.Command("sh", "-c", install).CombinedOutput()
	})
	path, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("%s is not installed and CI requires it; `%s` did not provide it:\n%s", name, install, out)
	}
	return path
}

// SkipOrFail skips the test with the reason outside CI and fails it under
// CI, where a test that would skip (a missing tool, a tree that does not
// fit what the test needs) means the machine or the tree is broken.
func SkipOrFail(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf(format+" (CI is set, so this fails instead of skipping)", args...)
		return
	}
	tb.Skipf(format, args...)
}
