package ratelimit_test

import (
	"context"
	"fmt"

	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/ratelimit"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func Example() {
	// Two calls per second with a burst of two, counted in this process.
	// Add ratelimit.WithStore(redislimit.New(client)) and Scope:
	// policy.ScopeDistributed to share the budget across replicas.
	l := ratelimit.New("/shop.v1.Orders/Create", policy.RateLimit{RPS: 2, Burst: 2})
	for i := range 3 {
		if err := l.Allow(context.Background()); err != nil {
			fmt.Println(i+1, status.Code(err), errinfo.Reason(err))
			continue
		}
		fmt.Println(i+1, "admitted")
	}
	// Output:
	// 1 admitted
	// 2 admitted
	// 3 ResourceExhausted RATE_LIMITED
}
