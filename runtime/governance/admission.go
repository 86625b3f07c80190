package governance

import (
	"context"
	"time"

	"github.com/govkit/govern/runtime/breaker"
	"github.com/govkit/govern/runtime/timeout"
)

// Header is read-only access to a call's request headers, for the traffic
// group of a call that does not come through gRPC: http.Header satisfies
// it. Keys are matched as the implementation matches them (http.Header
// canonicalises, gRPC metadata is lower case).
type Header interface {
	Get(key string) string
}

// Admission is an admitted call: its circuit breaker permit and its
// deadline. Call Done exactly once when the call ends, with the error the
// caller gets (nil on success), also when the handler panicked (with the
// error the panic became). The zero Admission (a method without policy)
// does nothing.
type Admission struct {
	permit  breaker.Permit
	bounded *timeout.Context
	// ctx is the call's context before the deadline: a state change its
	// outcome causes names its trace id.
	ctx context.Context
}

// Done records the call's outcome on the method's circuit breaker (errors
// are classified by breaker.IsFailure, the codes errinfo.Code gives) and
// ends the call's policy deadline, as a context.CancelFunc would.
func (a Admission) Done(err error) { a.DoneAt(err, time.Now()) }

// DoneAt is Done for a caller that has just read the clock to time the
// call (the governed chain, the HTTP middleware): one clock read less per
// call. now must not be earlier than the end of the call.
func (a Admission) DoneAt(err error, now time.Time) {
	a.permit.DoneContext(a.ctx, err)
	if a.bounded != nil {
		a.bounded.ReleaseAt(now)
	}
}

// Admit is the admission step of the governed chain, the one the gRPC
// interceptors run, for callers that serve something other than gRPC (the
// net/http middleware of runtime/httpgovern): fullMethod's rate limit
// (RESOURCE_EXHAUSTED / RATE_LIMITED), its circuit breaker (UNAVAILABLE /
// CIRCUIT_OPEN) and its policy timeout, in that order. It returns the
// call's context, bounded by min(ctx's deadline, policy timeout), and the
// admission to end with Done:
//
//	ctx, admission, err := g.Admit(r.Context(), op.FullMethod, r.Header)
//	if err != nil {
//		writeProblem(w, err) // 429 or 503, errinfo carries the reason
//		return
//	}
//	defer func() { admission.Done(callErr) }()
//
// header gives the request headers for methods split by traffic group;
// nil means the incoming gRPC metadata of ctx. A method absent from the
// table, or Disabled, is admitted with ctx unchanged and a zero Admission.
// Admit does not recover panics, record metrics or start spans: the caller
// does (recovery.Error logs a recovered panic the way the chain does).
func (g *Governor) Admit(ctx context.Context, fullMethod string, header Header) (context.Context, Admission, error) {
	m := g.methods[fullMethod]
	if m == nil {
		return ctx, Admission{}, nil
	}
	return g.admit(ctx, m, time.Now(), header)
}

// AdmitAt is Admit for a call that started at now, for a caller that read
// the clock already (to time the call): the rate limit and the deadline
// count from now, and the call costs no second clock read, which is most
// of the admission's cost on a virtual machine's clock.
func (g *Governor) AdmitAt(ctx context.Context, fullMethod string, now time.Time, header Header) (context.Context, Admission, error) {
	m := g.methods[fullMethod]
	if m == nil {
		return ctx, Admission{}, nil
	}
	return g.admit(ctx, m, now, header)
}

// admit runs m's rate limit, breaker and timeout for a call that started
// at now.
func (g *Governor) admit(ctx context.Context, m *method, now time.Time, header Header) (context.Context, Admission, error) {
	group := 0
	if m.limiters != nil || m.breakers != nil {
		group = g.group(ctx, header)
	}
	if m.limiters != nil {
		if err := m.limiters[group].AllowAt(ctx, now); err != nil {
			m.series.RateLimited()
			return ctx, Admission{}, err
		}
	}
	a := Admission{ctx: ctx}
	if m.breakers != nil {
		permit, err := m.breakers[group].Allow()
		if err != nil {
			return ctx, Admission{}, err
		}
		a.permit = permit
	}
	if bounded := g.deadlines.BoundAt(ctx, now, m.policy.Timeout); bounded != nil {
		a.bounded = bounded
		ctx = bounded
	}
	return ctx, a, nil
}
