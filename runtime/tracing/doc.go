// Package tracing is govern's OpenTelemetry integration: which calls are
// traced, how trace context crosses service boundaries, and the server span
// of every governed call.
//
// Sampling follows the policy: NewSampler is an sdktrace.Sampler that is
// parent-based (a propagated decision is always honoured, and the parent's
// tracestate kept) and, for root spans, samples the ratio of the method the
// span is named after, policy.Method.Sampling: the explicit `sampling` of
// the proto options or the tier's default (gold 100%, silver 10%, bronze
// 1%). Configure the TracerProvider passed to governance.WithTracerProvider
// with it.
//
// Propagator composes W3C tracecontext + baggage with B3, single header
// (`b3`) and multi header (`x-b3-traceid`, ...), because a fleet that grew
// over years has both.
//
// MethodTracer.Start is what runtime/governance calls on each governed
// call. At a root (no propagated parent) it takes the policy's sampling
// decision itself before touching the SDK, so the 99% of bronze calls
// that are not sampled cost one random number and no allocation instead of
// a non-recording span; the sampled ones are started with a context mark
// that tells NewSampler the decision is taken, so it is not applied twice.
// A call with a propagated parent always gets a span, recording or not, so
// the trace context reaches downstream calls. otelgrpc's stats handler is
// not used because it starts a span (recording or not) and builds
// attributes for every call and every message, whatever the sampling
// decision: driven in process with a unary call's events at the same 10%
// sampler it measured 18 allocations and about 12 times the time of
// MethodTracer (BenchmarkTracing in the bench module, docs/benchmarks.md),
// more than the whole chain's 1 µs budget.
package tracing
