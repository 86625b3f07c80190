// Package rtt tracks the round-trip time of calls to one target and answers
// quantile queries (P50, P99) over a sliding window, for the adaptive retry
// backoff of runtime/retry.
//
// # Why a histogram of our own
//
// The adaptive backoff needs, per target, a recent P99 that is cheap to
// update on every call and bounded in memory, and it needs it to forget: a
// target that was slow ten minutes ago must not stretch backoffs today. The
// libraries considered do not fit that shape well:
//
//   - github.com/beorn7/perks/quantile (the CKMS stream client_golang's
//     Summary uses) is not safe for concurrent use, so every Observe would
//     take a mutex, and it never forgets unless reset.
//   - t-digest and DDSketch implementations likewise need a lock per insert
//     and are built for mergeable, long-lived sketches rather than a
//     two-window estimate.
//
// A Window here is a fixed log-linear histogram (HDR style: 16 linear
// sub-buckets per power of two of nanoseconds, from 1µs to ~137s, so any
// value is reported within 1/32 ≈ 3% of its true magnitude) held twice: the
// current and the previous window. Observe is one atomic add (no lock, no
// allocation); a rotation, once per window length, takes a mutex only among
// the recorders that see the window end. Quantile merges both windows, so a
// query always covers between one and two window lengths of samples. Memory
// is fixed at 2×432 counters per target.
//
// A sample that races with a rotation may be counted in the neighbouring
// window; the backoff exponent tolerates that imprecision by design.
package rtt
