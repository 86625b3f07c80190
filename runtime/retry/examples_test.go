package retry_test

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/retry"
	"github.com/govkit/govern/runtime/retry/retrytest"
)

// A read that fails twice with UNAVAILABLE succeeds on the third attempt.
func ExampleRetrier() {
	srv, err := retrytest.Start(func(_ context.Context, a retrytest.Attempt) (string, error) {
		if a.N < 3 {
			return "", status.Error(codes.Unavailable, "warming up")
		}
		return "order 42", nil
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	table := policy.Table{retrytest.Get: {
		FullMethod:       retrytest.Get,
		IdempotencyLevel: policy.NoSideEffects,
		Retry: &policy.Retry{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
			Multiplier: 2, Codes: []codes.Code{codes.Unavailable}, Adaptive: true},
	}}
	r, err := retry.New(table)
	if err != nil {
		panic(err)
	}
	cc, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(r.UnaryClientInterceptor()))
	if err != nil {
		panic(err)
	}
	defer cc.Close()

	got, err := retrytest.Call(context.Background(), cc, retrytest.Get, "42")
	fmt.Println(got, err, srv.Attempts(retrytest.Get))
	// Output: order 42 <nil> 3
}
