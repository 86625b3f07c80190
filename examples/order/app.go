package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/reflection"

	orderv1 "github.com/govkit/govern/examples/order/gen/order/v1"
	"github.com/govkit/govern/examples/order/orders"
	"github.com/govkit/govern/runtime/admin"
	"github.com/govkit/govern/runtime/gateway"
	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/health"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/metrics"
	"github.com/govkit/govern/runtime/redisstores"
	"github.com/govkit/govern/runtime/serve"
	"github.com/govkit/govern/runtime/tracing/otlp"
)

// app is the wired service: listeners bound, servers built, not yet
// serving.
type app struct {
	grpcLis, httpLis, adminLis net.Listener

	checks     *health.Checks
	grpcHealth *health.GRPCServer
	store      *orders.Store
	server     *serve.Server
	closers    []func() error
}

// newApp binds the three listeners and builds everything on them. On error
// everything already opened is closed.
func newApp(ctx context.Context, cfg config, logger *slog.Logger) (a *app, err error) {
	a = &app{store: orders.NewStore()}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	for _, l := range []struct {
		dst  *net.Listener
		addr string
		name string
	}{{&a.grpcLis, cfg.GRPCAddr, "gRPC"}, {&a.httpLis, cfg.HTTPAddr, "HTTP"}, {&a.adminLis, cfg.AdminAddr, "admin"}} {
		lis, lerr := net.Listen("tcp", l.addr)
		if lerr != nil {
			return nil, fmt.Errorf("listening for %s on %s: %w (pick a free port with -%s-addr)", l.name, l.addr, lerr, flagPrefix(l.name))
		}
		*l.dst = lis
		a.closers = append(a.closers, lis.Close)
	}

	// Metrics: one registry, every series labelled service/env/region by
	// the governor's registerer (or, for the stores built before the
	// governor, by metrics.WithServiceLabels).
	registry := prometheus.NewRegistry()
	labelled := metrics.WithServiceLabels(registry, cfg.Service, cfg.Env, cfg.Region)
	govOpts := []governance.Option{
		governance.WithService(cfg.Service, cfg.Env, cfg.Region),
		governance.WithRegisterer(registry),
		governance.WithLogger(logger),
	}

	// Idempotency store and the readiness checks of what it depends on.
	a.checks = health.New()
	var store idempotency.Store
	if cfg.RedisAddr != "" {
		// One address is a Redis; several (a,b,c) are the seed nodes of a
		// Redis Cluster: idempotency records and distributed limits there,
		// readiness following the idempotency store (runtime/redisstores).
		stores, err := redisstores.Open(redisstores.Config{
			Addrs:      strings.Split(cfg.RedisAddr, ","),
			KeyPrefix:  "govern:" + cfg.Service + ":",
			Registerer: labelled,
		})
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, stores.Close)
		store = stores.Idempotency
		govOpts = append(govOpts, governance.WithRateLimitStore(stores.RateLimit))
		if err := a.checks.Register("redis", stores.Ready, health.AsDatabase(), health.WithTimeout(time.Second)); err != nil {
			return nil, err
		}
		if err := a.checks.Register("orders", a.store.Ping, health.WithTimeout(time.Second)); err != nil {
			return nil, err
		}
	} else {
		store = idempotency.NewMemoryStore() // one replica: results are not shared
		// Without Redis the order book is the service's only store: its
		// lock is what a request waits on, so its ping is db_ping_ms.
		if err := a.checks.Register("orders", a.store.Ping, health.AsDatabase(), health.WithTimeout(time.Second)); err != nil {
			return nil, err
		}
	}
	govOpts = append(govOpts, governance.WithIdempotencyStore(store))

	// Tracing: the sampler takes each method's ratio from its tier (gold
	// 100%, bronze 1%, capped at 1% when env is production) and honours a
	// propagated decision; spans are exported over OTLP when
	// OTEL_EXPORTER_OTLP_ENDPOINT is set. Trace and span ids reach the log
	// lines either way, including ones sent through the gateway as
	// traceparent or B3 headers.
	tp, err := otlp.NewTracerProvider(ctx, orderv1.OrderServicePolicy, otlp.WithService(cfg.Service, cfg.Env, cfg.Region, cfg.Version))
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() error { return tp.Shutdown(context.Background()) })
	govOpts = append(govOpts, governance.WithTracerProvider(tp))
	if cfg.MaintenanceFile != "" {
		if err := a.checks.Register("maintenance", maintenanceCheck(cfg.MaintenanceFile)); err != nil {
			return nil, err
		}
	}

	// The governed chain from the generated policy table: recovery,
	// metrics/tracing/logs, rate limit, breaker, timeout, idempotency.
	gov, err := governance.New(orderv1.OrderServicePolicy, govOpts...)
	if err != nil {
		return nil, fmt.Errorf("building the governance chain: %w", err)
	}
	grpcServer := grpc.NewServer(gov.ServerOptions()...)
	orderv1.RegisterOrderServiceServer(grpcServer, orders.NewService(a.store, orders.WithProcessingTime(cfg.CreateLatency)))
	a.grpcHealth = health.NewGRPCServer(a.checks, health.WithServices(orderv1.OrderService_ServiceDesc.ServiceName))
	a.grpcHealth.Register(grpcServer)
	// Server reflection lets grpcurl and grpc-health-probe-style tools talk
	// to the example without its .proto files.
	reflection.Register(grpcServer)

	// HTTP gateway: a loopback client of our own gRPC port, so HTTP calls
	// run through exactly the same chain as gRPC calls. GatewayDialOptions
	// forwards the HTTP caller's Idempotency-Key or none, never a minted
	// one: a POST without a key (or key fields) is 400, not a new order.
	gwDial, err := gov.GatewayDialOptions()
	if err != nil {
		return nil, fmt.Errorf("gateway dial options: %w", err)
	}
	conn, err := grpc.NewClient(a.grpcLis.Addr().String(),
		append(gwDial, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		return nil, fmt.Errorf("dialling the gRPC port for the gateway: %w", err)
	}
	a.closers = append(a.closers, conn.Close)
	gw := gateway.NewServeMux(gateway.WithRegisterer(gov.Registerer()))
	if err := orderv1.RegisterOrderServiceGateway(ctx, gw, conn); err != nil {
		return nil, err
	}

	adminOpts := []admin.Option{
		admin.WithService(cfg.Service),
		admin.WithVersion(cfg.Version),
		admin.WithChecks(a.checks),
		admin.WithGatherer(metrics.ServiceLabelsFirst(registry)),
	}
	if cfg.Pprof {
		adminOpts = append(adminOpts, admin.WithPprof())
	}

	// The HTTP port: the gateway, plus its own OpenAPI document, on one
	// explicit mux.
	httpMux := http.NewServeMux()
	httpMux.HandleFunc("GET "+openAPIPath, serveOpenAPI)
	httpMux.Handle("/", gw)

	a.server = serve.New(
		serve.WithGRPC(a.grpcLis, grpcServer),
		serve.WithHTTP("gateway", a.httpLis, serve.NewHTTPServer(httpMux)),
		serve.WithHTTP("admin", a.adminLis, serve.NewHTTPServer(admin.New(adminOpts...))),
		serve.WithChecks(a.checks),
		serve.WithGRPCHealth(a.grpcHealth),
		serve.WithDrainDelay(cfg.DrainDelay),
		serve.WithShutdownTimeout(cfg.ShutdownTimeout),
		serve.WithLogger(logger),
	)
	return a, nil
}

// run serves until ctx ends, then shuts down gracefully and releases the
// Redis client and the gateway's connection.
func (a *app) run(ctx context.Context) error {
	err := a.server.Run(ctx)
	return errors.Join(err, a.close())
}

func (a *app) close() error {
	var errs error
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = errors.Join(errs, err)
		}
	}
	a.closers = nil
	return errs
}

// openAPIPath serves the OpenAPI 3.0 document protoc-gen-govern generated
// from order.proto (routes, Idempotency-Key, x-govern policies).
const openAPIPath = "/openapi.yaml"

//go:embed gen/order/v1/order.openapi.yaml
var openAPIDocument []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPIDocument)
}

// maintenanceCheck fails while path exists.
func maintenanceCheck(path string) health.CheckFunc {
	return func(context.Context) error {
		_, err := os.Stat(path)
		switch {
		case err == nil:
			return fmt.Errorf("maintenance file %s exists: remove it to take traffic again", path)
		case errors.Is(err, os.ErrNotExist):
			return nil
		default:
			return fmt.Errorf("maintenance file %s: %w", path, err)
		}
	}
}

func flagPrefix(name string) string {
	switch name {
	case "gRPC":
		return "grpc"
	case "HTTP":
		return "http"
	}
	return "admin"
}
