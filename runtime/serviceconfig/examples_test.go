package serviceconfig_test

import (
	"fmt"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/serviceconfig"
)

func ExampleBuild() {
	table := policy.Table{
		"/shop.v1.Orders/Get": {
			Timeout:          500 * time.Millisecond,
			IdempotencyLevel: policy.NoSideEffects,
			Retry: &policy.Retry{
				MaxAttempts: 3, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second,
				Multiplier: 2, Codes: []codes.Code{codes.Unavailable},
			},
		},
	}
	js, err := serviceconfig.Build(table)
	if err != nil {
		panic(err)
	}
	// Pass it to grpc.WithDefaultServiceConfig(js).
	fmt.Println(js)
	// Output:
	// {"methodConfig":[{"name":[{"service":"shop.v1.Orders","method":"Get"}],"timeout":"0.500s","retryPolicy":{"maxAttempts":3,"initialBackoff":"0.100s","maxBackoff":"1s","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}],"retryThrottling":{"maxTokens":10,"tokenRatio":0.1}}
}
