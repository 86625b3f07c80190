package client_test

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/client"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/retry/retrytest"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

// A read declared NO_SIDE_EFFECTS with a retry policy survives a server that
// fails twice; a write that is not idempotent is tried once.
func ExampleDialOptions() {
	srv, err := retrytest.Start(func(_ context.Context, a retrytest.Attempt) (string, error) {
		if a.N < 3 {
			return "", status.Error(codes.Unavailable, "restarting")
		}
		return "order " + a.Request, nil
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	table := policy.Table{
		retrytest.Get: {FullMethod: retrytest.Get, IdempotencyLevel: policy.NoSideEffects, Timeout: time.Second,
			Retry: &policy.Retry{MaxAttempts: 3, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
				Multiplier: 2, Codes: []codes.Code{codes.Unavailable}}},
		retrytest.Create: {FullMethod: retrytest.Create, Timeout: time.Second},
	}
	opts, err := client.DialOptions(table, client.WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		panic(err)
	}
	cc, err := grpc.NewClient(srv.Addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		panic(err)
	}
	defer cc.Close()

	got, err := retrytest.Call(context.Background(), cc, retrytest.Get, "42")
	fmt.Println(got, err, srv.Attempts(retrytest.Get))
	_, err = retrytest.Call(context.Background(), cc, retrytest.Create, "43")
	fmt.Println(status.Code(err), srv.Attempts(retrytest.Create))

	_, err = client.DialOptions(table, client.WithRetry(retrytest.Create, *table[retrytest.Get].Retry))
	fmt.Println(err != nil)
	// Output:
	// order 42 <nil> 3
	// Unavailable 1
	// true
}
