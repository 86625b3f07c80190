// Package otlp builds the TracerProvider of a governed service: govern's
// sampler (tracing.NewSampler: per-method ratios from the policy table,
// parent-based, capped in production) and, when the environment configures
// one, an OTLP/gRPC exporter, so traces leave the process for a collector,
// Jaeger or Tempo (all accept OTLP).
//
// Configuration is the OpenTelemetry standard environment, read by
// otlptracegrpc itself: OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (http://host:4317 for plaintext),
// OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT,
// OTEL_EXPORTER_OTLP_CERTIFICATE ..., the batch processor's OTEL_BSP_*,
// and OTEL_RESOURCE_ATTRIBUTES. With no endpoint set (or
// OTEL_TRACES_EXPORTER=none, or OTEL_SDK_DISABLED=true) nothing is
// exported, but the provider still samples and propagates, so a service
// without an exporter passes its callers' trace context and sampling
// decisions on unchanged.
//
// It is a package of its own so that only binaries that export traces
// link the OTLP exporter and its protobuf types; runtime/tracing needs
// neither.
package otlp
