package otlp

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/tracing"
)

// Option configures NewTracerProvider.
type Option func(*config)

type config struct {
	service, env, region, version string
	samplerOptions                []tracing.Option
}

// WithService names the service in the spans' resource: service.name,
// deployment.environment.name, cloud.region and service.version (empty
// values are left out). Its env also turns on the production sampling cap
// (tracing.WithProductionCap at policy.MaxProductionSampling) unless
// WithSamplerOptions gives one.
func WithService(name, env, region, version string) Option {
	return func(c *config) { c.service, c.env, c.region, c.version = name, env, region, version }
}

// WithSamplerOptions passes options to tracing.NewSampler, such as
// tracing.WithProductionCap with the config's `sampling`; give
// governance.WithTracingOptions the same.
func WithSamplerOptions(opts ...tracing.Option) Option {
	return func(c *config) { c.samplerOptions = append(c.samplerOptions, opts...) }
}

// ExportEnabled reports whether the environment asks for OTLP trace export:
// an OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
// set, OTEL_TRACES_EXPORTER is not "none" and OTEL_SDK_DISABLED is not
// "true".
func ExportEnabled() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(os.Getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// NewTracerProvider returns the TracerProvider for table's service:
// sampled by tracing.NewSampler(table, ...), exporting over OTLP/gRPC
// through a batch processor when ExportEnabled. Shut it down on exit
// (tp.Shutdown) to flush the spans still buffered.
//
// OTLP over HTTP is not linked: OTEL_EXPORTER_OTLP_PROTOCOL (or
// _TRACES_PROTOCOL) other than grpc is an error that says so.
func NewTracerProvider(ctx context.Context, table policy.Table, opts ...Option) (*sdktrace.TracerProvider, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	samplerOpts := append([]tracing.Option{tracing.WithProductionCap(c.env, policy.MaxProductionSampling)}, c.samplerOptions...)
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithAttributes(c.attributes()...))
	if err != nil {
		return nil, fmt.Errorf("otlp: trace resource: %w (check OTEL_RESOURCE_ATTRIBUTES)", err)
	}
	tpOpts := []sdktrace.TracerProviderOption{
		sdktrace.WithSampler(tracing.NewSampler(table, samplerOpts...)),
		sdktrace.WithResource(res),
	}
	if ExportEnabled() {
		for _, key := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
			if p := os.Getenv(key); p != "" && p != "grpc" {
				return nil, fmt.Errorf("otlp: %s=%s is not supported: set it to grpc and point the endpoint at the collector's OTLP/gRPC port (4317)", key, p)
			}
		}
		exporter, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("otlp: trace exporter: %w (check the OTEL_EXPORTER_OTLP_* environment variables)", err)
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exporter))
	}
	return sdktrace.NewTracerProvider(tpOpts...), nil
}

func (c *config) attributes() []attribute.KeyValue {
	var attrs []attribute.KeyValue
	for _, kv := range [...]struct{ key, value string }{
		{"service.name", c.service},
		{"deployment.environment.name", c.env},
		{"cloud.region", c.region},
		{"service.version", c.version},
	} {
		if kv.value != "" {
			attrs = append(attrs, attribute.String(kv.key, kv.value))
		}
	}
	return attrs
}
