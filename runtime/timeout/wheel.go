package timeout

import (
	"context"
	"sync"
	"time"
)

// Defaults of NewWheel.
const (
	DefaultTick       = time.Millisecond
	DefaultParentPoll = 10 * time.Millisecond
)

// wheelSlots is the number of slots of the hashed wheel: one revolution
// covers wheelSlots ticks; later deadlines wait in their slot for the
// revolutions in between.
const wheelSlots = 512

// Wheel is a hashed timer wheel shared by the Contexts it bounds (one per
// governor): a Context that someone waits on is put in the slot of its
// deadline's tick, and one runtime timer, armed for the next occupied
// tick, closes the Done channels that are due. Registering costs a mutex
// and an append instead of context.WithDeadline's timer, cancel context and
// closures per call; the price is the tick's granularity (see Context).
// A Wheel holds no goroutine between firings and needs no Close.
type Wheel struct {
	tick      time.Duration
	pollTicks int64
	start     time.Time
	mu        sync.Mutex
	slots     [wheelSlots][]*Context
	count     int
	cursor    int64 // last tick processed
	armedAt   int64 // tick the timer fires at; 0: not armed
	timer     *time.Timer
}

// WheelOption configures a Wheel.
type WheelOption func(*Wheel)

// WithTick sets the wheel's granularity: Done closes at most one tick after
// the deadline. Default 1 ms; values below 100 µs are raised to it.
func WithTick(d time.Duration) WheelOption {
	return func(w *Wheel) { w.tick = max(d, 100*time.Microsecond) }
}

// WithParentPoll sets how often the wheel checks the parents of waited-on
// contexts: Done closes at most that long after the parent is done (Err
// reports it at once). Default 10 ms; at least one tick.
func WithParentPoll(d time.Duration) WheelOption {
	return func(w *Wheel) { w.pollTicks = int64(d) }
}

// NewWheel returns a Wheel.
func NewWheel(opts ...WheelOption) *Wheel {
	w := &Wheel{tick: DefaultTick, pollTicks: int64(DefaultParentPoll), start: time.Now()}
	for _, o := range opts {
		o(w)
	}
	w.pollTicks = max(w.pollTicks/int64(w.tick), 1)
	return w
}

// Bound returns a Context bounding parent by timeout, or nil when timeout
// is not positive or parent already ends no later: then parent itself is
// the call's context and there is nothing to release.
//
//	if bounded := wheel.Bound(ctx, p.Timeout); bounded != nil {
//		defer bounded.Release()
//		ctx = bounded
//	}
func (w *Wheel) Bound(parent context.Context, timeout time.Duration) *Context {
	if timeout <= 0 {
		return nil
	}
	return w.BoundAt(parent, time.Now(), timeout)
}

// BoundAt is Bound for a call that started at now, for callers that have
// read the clock already (the governed chain reads it once per call).
func (w *Wheel) BoundAt(parent context.Context, now time.Time, timeout time.Duration) *Context {
	if timeout <= 0 {
		return nil
	}
	deadline := now.Add(timeout)
	if d, ok := parent.Deadline(); ok && !d.After(deadline) {
		return nil
	}
	return &Context{parent: parent, deadline: deadline, wheel: w}
}

// tickOf is the tick t falls in.
func (w *Wheel) tickOf(t time.Time) int64 { return int64(t.Sub(w.start) / w.tick) }

// add puts c in the wheel: at its deadline's tick, or at the next parent
// poll when its parent can end first.
func (w *Wheel) add(c *Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.ended.Load() {
		return // ended between creating Done and getting here
	}
	w.place(c, w.tickOf(time.Now()))
}

// place puts c in the slot of its next due tick after now; under mu.
func (w *Wheel) place(c *Context, now int64) {
	d := c.deadline.Sub(w.start)
	at := int64(d / w.tick)
	if d%w.tick != 0 {
		at++ // never due before the deadline
	}
	if c.parent.Done() != nil {
		at = min(at, now+w.pollTicks)
	}
	at = max(at, w.cursor+1, now+1)
	slot := at % wheelSlots
	c.at, c.slot = at, int32(slot)
	w.slots[slot] = append(w.slots[slot], c)
	c.pos = int32(len(w.slots[slot]))
	w.count++
	if w.armedAt == 0 || at < w.armedAt {
		w.arm(at)
	}
}

// arm sets the timer to fire at tick at; under mu.
func (w *Wheel) arm(at int64) {
	w.armedAt = at
	in := w.start.Add(time.Duration(at) * w.tick).Sub(time.Now())
	if w.timer == nil {
		w.timer = time.AfterFunc(in, w.fire)
		return
	}
	w.timer.Reset(in)
}

// remove takes c out of the wheel if it is in it.
func (w *Wheel) remove(c *Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.unlink(c)
}

// unlink removes c from its slot by swapping the slot's last entry into
// its place; under mu.
func (w *Wheel) unlink(c *Context) {
	if c.pos == 0 {
		return
	}
	s := &w.slots[c.slot]
	i, last := int(c.pos-1), len(*s)-1
	if i != last {
		moved := (*s)[last]
		(*s)[i] = moved
		moved.pos = int32(i + 1)
	}
	(*s)[last] = nil
	*s = (*s)[:last]
	c.pos = 0
	w.count--
}

// fire closes the Done channels that are due and re-arms the timer for the
// next occupied slot.
func (w *Wheel) fire() {
	now := time.Now()
	nowTick := w.tickOf(now)
	w.mu.Lock()
	w.armedAt = 0
	var due []*Context
	for t, n := w.cursor+1, 0; t <= nowTick && n < wheelSlots; t, n = t+1, n+1 {
		s := &w.slots[t%wheelSlots]
		for i := 0; i < len(*s); {
			if c := (*s)[i]; c.at <= nowTick {
				w.unlink(c)
				due = append(due, c)
				continue // the swapped-in entry is now at i
			}
			i++
		}
	}
	w.cursor = max(w.cursor, nowTick)
	w.mu.Unlock()

	var again []*Context
	for _, c := range due {
		if err := c.expired(now); err != nil {
			c.end(err, err != context.DeadlineExceeded)
		} else {
			again = append(again, c) // a parent poll, or the timer fired early
		}
	}

	w.mu.Lock()
	for _, c := range again {
		if !c.ended.Load() {
			w.place(c, nowTick)
		}
	}
	if w.count > 0 && w.armedAt == 0 {
		for d := int64(1); d <= wheelSlots; d++ {
			if len(w.slots[(nowTick+d)%wheelSlots]) > 0 {
				w.arm(nowTick + d)
				break
			}
		}
	}
	w.mu.Unlock()
}
