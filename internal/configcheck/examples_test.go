package configcheck_test

import (
	"fmt"

	"github.com/govkit/govern/internal/configcheck"
)

func ExampleCheck() {
	config := []byte(`service: payment
env: production
region: us-west-2
sampling: 0.2
upstreams:
  - name: ledger
    p99: 100ms
    timeout: 400ms
`)
	report := configcheck.Check("config.yaml", config)
	fmt.Print(report)
	fmt.Println("failed:", report.Failed())
	// Output:
	// config.yaml:4: production sampling 0.2 exceeds 0.01 (1%): lower it to 0.01 or less, or keep one tier's own ratio with sampling_exempt_tiers: [gold]
	// config.yaml:8: upstream "ledger" timeout 400ms exceeds 1.5 x its p99 100ms (150ms): lower the timeout to 150ms or less
	// failed: true
}
