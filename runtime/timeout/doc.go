// Package timeout bounds a call's context by its method's policy timeout:
// the deadline becomes min(incoming deadline, policy timeout), so a server
// never works longer than its SLA says even when a caller sent no deadline
// or a generous one, and never extends a shorter deadline a caller sent.
//
// Bound is what runtime/governance uses on every governed call. It is its
// own context type rather than context.WithTimeout because the governed
// chain has a budget of two allocations per call: context.WithTimeout
// allocates a timer, a cancel context and closures on every call, while
// most handlers finish without ever waiting on ctx.Done. Bound stores the
// deadline (one allocation) and arms a real context.WithDeadline only when
// someone waits on Done or derives a child context, so gRPC client calls,
// database drivers and select loops see exactly the standard behaviour.
package timeout
