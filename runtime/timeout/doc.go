// Package timeout bounds a call's context by its method's policy timeout:
// the deadline becomes min(incoming deadline, policy timeout), so a server
// never works longer than its SLA says even when a caller sent no deadline
// or a generous one, and never extends a shorter deadline a caller sent.
//
// Wheel.BoundAt is what runtime/governance uses on every governed call. It
// is its own context type rather than context.WithTimeout because the
// governed chain has a budget of a few allocations per call:
// context.WithTimeout allocates a timer, a cancel context and closures on
// every call (and registers with a cancelable parent), while most handlers
// finish without ever waiting on ctx.Done. A Context stores the deadline
// (one allocation); Err reads the clock and the parent; only the first Done
// creates a channel (a second allocation) and puts the context in its
// Wheel, a hashed timer wheel shared by all calls of a governor whose one
// runtime timer closes the channels that are due. The trade-off is
// granularity: Done closes within one tick (1 ms) of the deadline and
// within the parent poll interval (10 ms) of the parent's end, where
// context.WithDeadline closes it at once; Err is exact and stable, and
// derived contexts, context.AfterFunc and context.Cause work as with any
// context (the Context type's doc lists every difference).
// docs/benchmarks.md has the measurements behind the choice.
package timeout
