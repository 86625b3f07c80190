package tooltest

import (
	"fmt"
	"testing"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

// recorder stands in for the *testing.T that SkipOrFail reports to.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recorder) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }

func TestSkipOrFail(t *testing.T) {
	t.Setenv("CI", "")
	var r recorder
	SkipOrFail(&r, "git not found: %v", "exec: not found")
	if r.skip != "git not found: exec: not found" || r.fatal != "" {
		t.Errorf("outside CI: skip %q, fatal %q; want a skip with the reason", r.skip, r.fatal)
	}

	t.Setenv("CI", "true")
	r = recorder{}
	SkipOrFail(&r, "git not found: %v", "exec: not found")
	if r.fatal == "" || r.skip != "" {
		t.Errorf("under CI: skip %q, fatal %q; want a failure", r.skip, r.fatal)
	}
}
