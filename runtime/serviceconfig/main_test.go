package serviceconfig

import (
	"testing"

	"go.uber.org/goleak"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
