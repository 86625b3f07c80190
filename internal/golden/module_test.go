package golden

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const importPath = "github.com/govkit/govern/internal/golden"

// TestEveryTestPackageAcceptsUpdate fails for each test binary of the module
// that does not link this package: `go test ./... -update` would stop there
// with "flag provided but not defined: -update".
func TestEveryTestPackageAcceptsUpdate(t *testing.T) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	missing, err := testBinariesWithout(root, importPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range missing {
		t.Errorf("the tests of %s do not accept go test -update: add `import _ %q` to one of its test files (see internal/golden's doc)", pkg, importPath)
	}
}

// testBinariesWithout lists, with `go list -test`, the packages under root
// whose test binary does not depend on dep.
func testBinariesWithout(root, dep string) ([]string, error) {
	cmd := exec.Command("go", "list", "-e", "-test", "-f", `{{if .ForTest}}{{else}}{{.ImportPath}}{{range .Deps}} {{.}}{{end}}{{end}}`, "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &listError{err: err, stderr: stderr.String()}
	}
	var missing []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || !strings.HasSuffix(fields[0], ".test") {
			continue
		}
		if !slices.Contains(fields[1:], dep) && strings.TrimSuffix(fields[0], ".test") != dep {
			missing = append(missing, strings.TrimSuffix(fields[0], ".test"))
		}
	}
	return missing, sc.Err()
}

type listError struct {
	err    error
	stderr string
}

func (e *listError) Error() string { return "go list -test ./...: " + e.err.Error() + "\n" + e.stderr }
