package serve_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"

	"github.com/govkit/govern/runtime/admin"
	"github.com/govkit/govern/runtime/health"
	"github.com/govkit/govern/runtime/serve"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func Example() {
	checks := health.New()
	grpcHealth := health.NewGRPCServer(checks)
	grpcServer := grpc.NewServer()
	grpcHealth.Register(grpcServer)

	grpcLis, _ := net.Listen("tcp", "127.0.0.1:0")
	adminLis, _ := net.Listen("tcp", "127.0.0.1:0")

	srv := serve.New(
		serve.WithGRPC(grpcLis, grpcServer),
		serve.WithHTTP("admin", adminLis, serve.NewHTTPServer(admin.New(admin.WithChecks(checks)))),
		serve.WithChecks(checks),
		serve.WithGRPCHealth(grpcHealth),
		serve.WithDrainDelay(0), // in production: longer than the readiness probe period
		serve.WithLogger(slog.New(slog.DiscardHandler)),
	)
	// In main: ctx, stop := serve.SignalContext(context.Background()).
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := srv.Run(ctx)
	fmt.Println("stopped cleanly:", err == nil, "ready:", checks.Readiness(context.Background()).OK)
	// Output:
	// stopped cleanly: true ready: false
}
