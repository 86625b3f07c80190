package timeout

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// Context is a context whose deadline is min(parent's deadline, policy
// timeout), built by Wheel.Bound or Wheel.BoundAt. Call Release when the
// call ends, as with a context.CancelFunc.
//
// It keeps the context.Context contract: Err is nil until Done is closed
// and never changes once non-nil; Deadline, Value and cancellation of
// derived contexts behave as for context.WithDeadline. It differs from
// context.WithDeadline in two documented ways, both about when Done is
// closed, never about what Err reports:
//
//   - Done of a context nobody asked for Done yet is not a channel yet: the
//     deadline and the parent are read when Err or Done is called, so a
//     handler that never waits costs one allocation and no timer.
//   - Once Done has been asked for, the context's Wheel closes it within one
//     tick (default 1 ms) after the deadline, and within the wheel's parent
//     poll interval (default 10 ms) after the parent is done, where
//     context.WithDeadline would close it at once. Err, called at any time,
//     reads the clock and the parent itself and closes Done before it
//     returns non-nil, so a caller that checks Err sees the end at once.
//
// When both the deadline and the parent's end have passed before anyone
// looked, Err reports the parent's error (the order of two past events is
// unknowable; reporting the caller's cancellation keeps it from counting
// as a server failure). Release after the deadline reports
// DeadlineExceeded, as a fired timer would have.
type Context struct {
	parent   context.Context
	deadline time.Time
	wheel    *Wheel

	mu         sync.Mutex
	done       atomic.Value // chan struct{}, created by the first Done
	ended      atomic.Bool
	err        error // written under mu before ended is set
	byParent   bool  // the parent's end ended it (under mu)
	afterFuncs []*afterFunc

	// Position in the wheel, guarded by wheel.mu: pos is the index in the
	// slot plus one (0: not in the wheel), at the tick it is due.
	slot int32
	pos  int32
	at   int64
}

type afterFunc struct{ f func() }

var _ context.Context = (*Context)(nil)

// Deadline returns the bounded deadline.
func (c *Context) Deadline() (time.Time, bool) { return c.deadline, true }

// Done returns a channel closed when the deadline passes, the parent is
// done, or Release is called (see the type's doc for how promptly).
func (c *Context) Done() <-chan struct{} {
	if d := c.done.Load(); d != nil {
		return d.(chan struct{})
	}
	c.mu.Lock()
	if d := c.done.Load(); d != nil {
		c.mu.Unlock()
		return d.(chan struct{})
	}
	ch := make(chan struct{})
	c.done.Store(ch)
	if c.ended.Load() {
		close(ch)
		c.mu.Unlock()
		return ch
	}
	c.mu.Unlock()
	if err := c.expired(time.Now()); err != nil {
		c.end(err, err != context.DeadlineExceeded)
		return ch
	}
	c.wheel.add(c)
	return ch
}

// Err returns nil while the context is live; then, for good, the parent's
// error if the parent ended it, context.DeadlineExceeded if the deadline
// did, context.Canceled if Release did.
func (c *Context) Err() error {
	if c.ended.Load() {
		return c.err
	}
	if err := c.expired(time.Now()); err != nil {
		c.end(err, err != context.DeadlineExceeded)
		return c.stableErr()
	}
	return nil
}

// stableErr reads err once ended is set.
func (c *Context) stableErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// expired returns why the context has ended by now, or nil.
func (c *Context) expired(now time.Time) error {
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !now.Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value returns the parent's values. The one exception is the context
// package's own lookup of the nearest cancelable ancestor (made by
// context.Cause and when deriving a child): a live Context is that ancestor
// itself, so the lookup does not see through it; context.Cause then reports
// this context's Err, and children are cancelled through AfterFunc.
func (c *Context) Value(key any) any {
	v := c.parent.Value(key)
	if _, ok := key.(*int); ok && v != nil && reflect.TypeOf(v).String() == "*context.cancelCtx" {
		c.mu.Lock()
		byParent := c.byParent
		c.mu.Unlock()
		if !byParent {
			return nil
		}
	}
	return v
}

// AfterFunc arranges to call f in its own goroutine once the context is
// done, as context.AfterFunc does; stop reports whether it stopped f from
// being called. context.WithCancel and friends use it to cancel children
// of this context without a goroutine each.
func (c *Context) AfterFunc(f func()) (stop func() bool) {
	c.Done() // the wheel must watch the deadline from now on
	a := &afterFunc{f: f}
	c.mu.Lock()
	if c.ended.Load() {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	c.afterFuncs = append(c.afterFuncs, a)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.afterFuncs {
			if x == a {
				c.afterFuncs = append(c.afterFuncs[:i], c.afterFuncs[i+1:]...)
				return true
			}
		}
		return false
	}
}

// Release ends the context (context.Canceled, or DeadlineExceeded or the
// parent's error when those came first) and takes it off its wheel. It is
// idempotent.
func (c *Context) Release() { c.ReleaseAt(time.Now()) }

// ReleaseAt is Release for a caller that has just read the clock (to time
// the call it ends): now decides whether the deadline came first, and
// must not be earlier than the moment the call ended.
func (c *Context) ReleaseAt(now time.Time) {
	if c.ended.Load() {
		return
	}
	err := c.expired(now)
	if err == nil {
		c.end(context.Canceled, false)
		return
	}
	c.end(err, err != context.DeadlineExceeded)
}

// end ends the context with err unless it has ended already: it closes
// Done, leaves the wheel and starts the AfterFunc functions.
func (c *Context) end(err error, byParent bool) {
	c.mu.Lock()
	if c.ended.Load() {
		c.mu.Unlock()
		return
	}
	c.err, c.byParent = err, byParent
	c.ended.Store(true)
	d, _ := c.done.Load().(chan struct{})
	funcs := c.afterFuncs
	c.afterFuncs = nil
	c.mu.Unlock()
	if d == nil {
		return // never handed out a Done: not in the wheel, no children
	}
	close(d)
	c.wheel.remove(c)
	for _, a := range funcs {
		go a.f()
	}
}

// String describes the context for debugging.
func (c *Context) String() string {
	return "timeout.Bound(deadline " + c.deadline.Format(time.RFC3339Nano) + ")"
}
