// Package breaker is govern's circuit breaker: one per server method (built
// by runtime/governance from the method's policy) and one per target+method
// on the client side.
//
// A Breaker counts calls and failures over a rolling window (Window, cut
// into ten slices). When at least MinRequests calls in the window failed at
// FailureRatio or more, it opens: Allow rejects every call with UNAVAILABLE
// and ErrorInfo reason CIRCUIT_OPEN (plus a RetryInfo delay) for OpenFor.
// Then it lets HalfOpenRequests probe calls through: if they all succeed it
// closes with an empty window, one failure re-opens it.
//
//	permit, err := b.Allow()
//	if err != nil {
//		return nil, err // CIRCUIT_OPEN
//	}
//	resp, err := handler(ctx, req)
//	permit.Done(err)
//
// Which errors count is decided by IsFailure (server-side failures such as
// INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED; never the caller's own mistakes)
// or WithFailureClassifier. WithStateChange reports transitions (with the window's
// counts that tripped the breaker and, through Permit.DoneContext, the
// tripping call's context), which runtime/governance exports as
// govern_breaker_state (0 closed, 1 half-open, 2 open) and logs.
//
// # Why not sony/gobreaker
//
// The design asks for an allow/record fast path of at most 50 ns and zero
// allocations, also under b.RunParallel. sony/gobreaker v2 (v2.4.0) takes a
// sync.Mutex and reads time.Now on every Allow and on every outcome, so two
// cores serialise on one lock, and its two-step API (the one a client
// interceptor needs) allocates a closure per call. Measured in the same
// interleaved rounds on a shared 2-vCPU machine (BenchmarkBreaker in the
// bench module; median, best round; docs/benchmarks.md):
//
//	                          sequential        RunParallel       allocs
//	govern Allow+Done         37 ns, 26 ns      35 ns, 32 ns      0
//	gobreaker v2 Execute      288 ns, 175 ns    302 ns, 159 ns    0
//	gobreaker v2 two-step     310 ns, 216 ns    289 ns, 251 ns    1
//
// gobreaker cannot reach the goal: its mutex and two clock reads per call
// alone exceed it.
//
// This breaker is lock-free instead: the state, a generation and the
// state's deadline (when an open breaker probes again) are one immutable
// value behind one atomic pointer, replaced by compare-and-swap on a
// transition (a transition allocates; admissions and outcomes do not), so a
// caller never sees a new state with an old deadline, the state-change
// callback runs only once both are in force (an Allow during the callback of
// a trip is rejected), and outcomes of calls admitted under an earlier
// regime are ignored; counts live in cache-line separated shards, and a success is
// one atomic add on a shard chosen at random. A shard reads the clock once
// per 16 successes to date them into the rolling window, and every failure
// dates all pending successes before judging the ratio, so a success is
// never lost to an expired slice (which could open the breaker falsely).
// The price is that up to 15 successes per shard from before an idle
// period may count as recent, biasing the breaker towards staying closed
// by at most 120 calls; and a few calls racing with a slice reset may be
// dropped.
package breaker
