package governance_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"

	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/tracing"
)

func Example() {
	g, err := governance.New(testv1.OrderServicePolicy,
		governance.WithService("order", "prod", "us-west-2"),
		governance.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(g.ServerOptions()...)
	defer srv.Stop()
	// testv1.RegisterOrderServiceServer(srv, impl); srv.Serve(lis)

	n, _ := testutil.GatherAndCount(g.Gatherer(), "grpc_server_started_total")
	fmt.Println(n, "methods governed, their series at zero before the first call")
	// Output: 11 methods governed, their series at zero before the first call
}

// A governor on the caller's registry, with policy-driven trace sampling;
// other govern collectors go on its labelled Registerer.
func Example_registryAndTracing() {
	table := testv1.OrderServicePolicy
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tracing.NewSampler(table))) // add sdktrace.WithBatcher(exporter)
	defer func() { _ = tp.Shutdown(context.Background()) }()

	registry := prometheus.NewRegistry() // serve it with promhttp.HandlerFor(registry, ...)
	g, err := governance.New(table,
		governance.WithService("order", "prod", "us-west-2"),
		governance.WithRegisterer(registry),
		governance.WithTracerProvider(tp),
		governance.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	queueDepth := prometheus.NewGauge(prometheus.GaugeOpts{Name: "order_queue_depth", Help: "Orders waiting."})
	if err := g.Registerer().Register(queueDepth); err != nil {
		panic(err)
	}
	mfs, _ := registry.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "order_queue_depth" {
			for _, l := range mf.GetMetric()[0].GetLabel() {
				fmt.Printf("%s=%s ", l.GetName(), l.GetValue())
			}
		}
	}
	fmt.Println()
	// Output: env=prod region=us-west-2 service=order
}
