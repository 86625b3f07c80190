// Command order is the govern example service: an order API whose
// governance (idempotent CreateOrder, rate-limited ListOrders, deadlines,
// breaker) is declared in proto/order/v1/order.proto and enforced by the
// govern runtime, served over gRPC, over HTTP/JSON through the grpc-gateway,
// with health, metrics and graceful shutdown on an admin port.
//
//	go run ./examples/order                       # gRPC :50051, HTTP :8081, admin :9081
//	go run ./examples/order -redis-addr 127.0.0.1:6379 -env prod -region eu-west-1
//
// Every flag also reads ORDER_<FLAG> from the environment; see -help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/govkit/govern/runtime/logging"
	"github.com/govkit/govern/runtime/serve"
)

func main() { os.Exit(run(os.Args[1:], os.Getenv, os.Stderr)) }

// run is main without os.Exit, so deferred cleanup always runs; it returns
// the process exit code. Logs (JSON lines) and usage go to stderr.
func run(args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "order:", err)
		return 2
	}
	logger := logging.New(stderr, cfg.LogLevel)

	ctx, stop := serve.SignalContext(context.Background())
	defer stop()
	// After the first SIGTERM/SIGINT starts the graceful shutdown, restore
	// the default handling: a second Ctrl-C ends the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	a, err := newApp(ctx, cfg, logger)
	if err != nil {
		logger.Error("startup failed", "error", err)
		return 1
	}
	logger.Info("order service started",
		"grpc", a.grpcLis.Addr().String(), "http", a.httpLis.Addr().String(), "admin", a.adminLis.Addr().String(),
		"idempotency_store", storeName(cfg), "service", cfg.Service, "env", cfg.Env, "region", cfg.Region)
	if err := a.run(ctx); err != nil {
		logger.Error("stopped with an error", "error", err)
		return 1
	}
	return 0
}

func storeName(cfg config) string {
	if cfg.RedisAddr != "" {
		return "redis " + cfg.RedisAddr
	}
	return "memory"
}
