package breaker_test

import (
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/breaker"
	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/policy"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func Example() {
	b := breaker.New(policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 2, OpenFor: time.Minute},
		breaker.WithName("/shop.v1.Orders/Create"),
		breaker.WithStateChange(func(t breaker.Transition) { fmt.Println("breaker:", t.From, "->", t.To) }))

	for range 3 {
		permit, err := b.Allow()
		if err != nil {
			fmt.Println("rejected:", status.Code(err), errinfo.Reason(err))
			continue
		}
		permit.Done(status.Error(codes.Unavailable, "database down")) // the call's outcome
	}
	// Output:
	// breaker: closed -> open
	// rejected: Unavailable CIRCUIT_OPEN
}
