package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govkit/govern/runtime/admin"
	"github.com/govkit/govern/runtime/health"
	"github.com/govkit/govern/runtime/httpgovern"
	"github.com/govkit/govern/runtime/logging"
	"github.com/govkit/govern/runtime/serve"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "httporders:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("httporders", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "API listen address")
	adminAddr := fs.String("admin-addr", "127.0.0.1:9091", "admin endpoints listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := logging.New(os.Stderr, slog.LevelInfo)
	reg := prometheus.NewRegistry()
	handler, _, err := newHandler(newOrders(), httpgovern.WithService("httporders", "dev", "local"), httpgovern.WithRegisterer(reg), httpgovern.WithLogger(logger))
	if err != nil {
		return err
	}
	checks := health.New()
	adminHandler := admin.New(admin.WithService("httporders"), admin.WithChecks(checks), admin.WithGatherer(reg))
	apiLis, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	adminLis, err := net.Listen("tcp", *adminAddr)
	if err != nil {
		apiLis.Close()
		return err
	}
	ctx, stop := serve.SignalContext(ctx)
	defer stop()
	logger.Info("serving", "api", apiLis.Addr().String(), "admin", adminLis.Addr().String())
	return serve.New(
		serve.WithHTTP("api", apiLis, serve.NewHTTPServer(handler)),
		serve.WithHTTP("admin", adminLis, serve.NewHTTPServer(adminHandler)),
		serve.WithChecks(checks),
		serve.WithLogger(logger),
	).Run(ctx)
}
