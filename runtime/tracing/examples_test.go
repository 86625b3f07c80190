package tracing_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/tracing"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func Example() {
	table := policy.Table{
		"/shop.v1.Orders/Create": {FullMethod: "/shop.v1.Orders/Create", Service: "shop.v1.Orders", Name: "Create",
			Tier: policy.TierGold, Sampling: policy.TierGold.DefaultSampling()},
	}
	recorder := tracetest.NewSpanRecorder() // a real service adds an exporter instead
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tracing.NewSampler(table)), sdktrace.WithSpanProcessor(recorder))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	create := tracing.NewServer(tp, tracing.Propagator()).Method(table["/shop.v1.Orders/Create"])
	_, span := create.Start(context.Background()) // gold: always sampled
	tracing.End(span, codes.OK, nil)

	fmt.Println(recorder.Ended()[0].Name())
	// Output: shop.v1.Orders/Create
}
