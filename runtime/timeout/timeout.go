package timeout

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Context is a context whose deadline is min(parent's deadline, policy
// timeout). It is built by Bound; callers must call Release when the call
// ends, as with a context.CancelFunc.
//
// Unlike context.WithDeadline it arms no timer up front: Deadline and Err
// answer from the stored time, and only the first Done (or a child context
// derived from it) builds the real deadline context. A handler that never
// waits on Done costs one allocation; one that does gets exactly the
// behaviour of context.WithDeadline.
type Context struct {
	parent   context.Context
	deadline time.Time

	armed    atomic.Pointer[armedContext]
	mu       sync.Mutex // serialises arming
	released atomic.Bool
}

type armedContext struct {
	ctx    context.Context
	cancel context.CancelFunc
}

var _ context.Context = (*Context)(nil)

// Bound returns a Context bounding parent by timeout, or nil when timeout
// is not positive or parent already ends no later: then parent itself is the
// call's context and there is nothing to release.
//
//	if bounded := timeout.Bound(ctx, p.Timeout); bounded != nil {
//		defer bounded.Release()
//		ctx = bounded
//	}
func Bound(parent context.Context, timeout time.Duration) *Context {
	if timeout <= 0 {
		return nil
	}
	return BoundAt(parent, time.Now(), timeout)
}

// BoundAt is Bound for a call that started at now, for callers that have
// read the clock already (the governed chain reads it once per call).
func BoundAt(parent context.Context, now time.Time, timeout time.Duration) *Context {
	if timeout <= 0 {
		return nil
	}
	deadline := now.Add(timeout)
	if d, ok := parent.Deadline(); ok && !d.After(deadline) {
		return nil
	}
	return &Context{parent: parent, deadline: deadline}
}

// Deadline returns the bounded deadline.
func (c *Context) Deadline() (time.Time, bool) { return c.deadline, true }

// Done returns a channel closed when the deadline passes, the parent is
// done, or Release is called.
func (c *Context) Done() <-chan struct{} { return c.arm().ctx.Done() }

// Err returns context.DeadlineExceeded once the deadline has passed,
// the parent's error once it is done, context.Canceled after Release, and
// nil before.
func (c *Context) Err() error {
	if a := c.armed.Load(); a != nil {
		return a.ctx.Err()
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if c.released.Load() {
		return context.Canceled
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value returns the parent's values.
func (c *Context) Value(key any) any {
	if a := c.armed.Load(); a != nil {
		// The armed context answers the context package's own lookups
		// (cancellation propagation, context.Cause) and delegates the rest
		// to the parent.
		return a.ctx.Value(key)
	}
	return c.parent.Value(key)
}

// Release ends the context, stopping its timer if one was armed. It is
// idempotent.
func (c *Context) Release() {
	// Release and arm each publish first and check the other's flag
	// second, so whichever runs last cancels.
	c.released.Store(true)
	if a := c.armed.Load(); a != nil {
		a.cancel()
	}
}

// String describes the context for debugging.
func (c *Context) String() string {
	return "timeout.Bound(deadline " + c.deadline.Format(time.RFC3339Nano) + ")"
}

func (c *Context) arm() *armedContext {
	if a := c.armed.Load(); a != nil {
		return a
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.armed.Load(); a != nil {
		return a
	}
	ctx, cancel := context.WithDeadline(c.parent, c.deadline)
	a := &armedContext{ctx: ctx, cancel: cancel}
	c.armed.Store(a)
	if c.released.Load() {
		cancel()
	}
	return a
}
