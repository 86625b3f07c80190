// Package tracing is govern's OpenTelemetry integration: which calls are
// traced, how trace context crosses service boundaries, and the server span
// of every governed call.
//
// Sampling follows the policy: NewSampler is an sdktrace.Sampler that is
// parent-based (a propagated decision is always honoured, and the parent's
// tracestate kept) and, for root spans, samples the ratio of the method the
// span is named after, policy.Method.Sampling: the explicit `sampling` of
// the proto options or the tier's default (gold 100%, silver 10%, bronze
// 1%). In production (policy.IsProduction) WithProductionCap bounds every
// method's root ratio by the config's `sampling` (default 1%), so a gold
// method does not trace 100% of production traffic; a tier is exempted only
// by naming it. Propagated decisions are never capped. Configure the
// TracerProvider passed to governance.WithTracerProvider with it (package
// otlp builds one that also exports over OTLP).
//
// Propagator composes W3C tracecontext + baggage with B3, single header
// (`b3`) and multi header (`x-b3-traceid`, ...), because a fleet that grew
// over years has both.
//
// MethodTracer.Start is what runtime/governance calls on each governed
// call. At a root (no propagated parent) it takes the policy's sampling
// decision itself before touching the SDK: the calls that are not sampled
// get a span context with fresh ids and the sampled flag off (two small
// allocations, no SDK span), so the decision travels downstream and the
// next service does not sample the call again as a new root; the sampled
// ones are started with a context mark that tells NewSampler the decision
// is taken, so it is not applied twice. A call whose caller did not sample
// it passes the caller's context on unchanged; a sampled one gets a span.
//
// UnaryClientInterceptor and StreamClientInterceptor inject the call's
// trace context into outgoing metadata (traceparent, b3, x-b3-*);
// governance.DialOptions installs them, so a chain of governed services
// shares one trace. otelgrpc's stats handler is
// not used because it starts a span (recording or not) and builds
// attributes for every call and every message, whatever the sampling
// decision: driven in process with a unary call's events at the same 10%
// sampler it measured 18 allocations and about 12 times the time of
// MethodTracer (BenchmarkTracing in the bench module, docs/benchmarks.md),
// more than the whole chain's 1 µs budget.
package tracing
