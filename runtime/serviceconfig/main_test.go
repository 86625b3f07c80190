package serviceconfig

import (
	"flag"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// update is accepted so that `go test ./... -update` runs here too; this
// package has no golden files.
var _ = flag.Bool("update", false, "accepted for go test ./... -update; no golden files here")
