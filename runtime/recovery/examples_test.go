package recovery_test

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/recovery"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func Example() {
	interceptor := recovery.UnaryServerInterceptor(nil) // pass a *slog.Logger to log the stack
	_, err := interceptor(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/shop.v1.Orders/Create"},
		func(context.Context, any) (any, error) { panic("bug") })
	fmt.Println(status.Code(err))
	// Output: Internal
}
