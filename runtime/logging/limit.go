package logging

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/govkit/govern/runtime/errinfo"
)

// DefaultRejectionInterval is the default window of LimitHandler: at most
// one line per method and rejection reason every 10 s, plus one summary.
const DefaultRejectionInterval = 10 * time.Second

// KeySuppressed is the attribute of a LimitHandler summary line: how many
// lines of the same method and reason were not written in the interval.
const KeySuppressed = "suppressed"

// designedRejections are the reasons of rejections a governed service
// gives on purpose under load (rate limited, circuit open, idempotency key
// in flight). They are counted by metrics; their log lines are bounded by
// LimitHandler so that a retry storm cannot fill a disk.
var designedRejections = map[string]bool{
	errinfo.RateLimited:         true,
	errinfo.CircuitOpen:         true,
	errinfo.IdempotencyInFlight: true,
}

// IsDesignedRejection reports whether reason is one of the rejections
// LimitHandler bounds: RATE_LIMITED, CIRCUIT_OPEN, IDEMPOTENCY_IN_FLIGHT.
func IsDesignedRejection(reason string) bool { return designedRejections[reason] }

// LimitHandler bounds the lines of designed rejections: records whose
// KeyReason attribute is a designed rejection (see IsDesignedRejection)
// are keyed by their KeyMethod and reason; the first record of a key in
// each interval is written, the rest of that interval are counted, and
// when the interval ends one summary record ("suppressed repeated log
// lines", with KeySuppressed = count) is written. A key therefore writes
// at most two lines per interval whatever the load, while every rejection
// is still counted by the metrics. Other records pass through untouched at
// the cost of one scan of their attributes.
//
// Clones made by WithAttrs and WithGroup share the limit.
type LimitHandler struct {
	next  slog.Handler
	state *limitState
}

type limitKey struct{ method, reason string }

type limitWindow struct {
	start      time.Time
	suppressed int
	level      slog.Level
	next       slog.Handler // the handler of the first record, so the summary carries its attrs
	timer      *time.Timer
}

type limitState struct {
	interval time.Duration
	now      func() time.Time
	mu       sync.Mutex
	windows  map[limitKey]*limitWindow
}

// NewLimitHandler wraps next with a limit of one designed-rejection line
// per method and reason per interval (plus a summary line).
func NewLimitHandler(next slog.Handler, interval time.Duration) *LimitHandler {
	return &LimitHandler{next: next, state: &limitState{interval: interval, now: time.Now, windows: map[limitKey]*limitWindow{}}}
}

// Enabled implements slog.Handler.
func (h *LimitHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// WithAttrs implements slog.Handler.
func (h *LimitHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &LimitHandler{next: h.next.WithAttrs(attrs), state: h.state}
}

// WithGroup implements slog.Handler.
func (h *LimitHandler) WithGroup(name string) slog.Handler {
	return &LimitHandler{next: h.next.WithGroup(name), state: h.state}
}

// Handle implements slog.Handler.
func (h *LimitHandler) Handle(ctx context.Context, r slog.Record) error {
	key, limited := rejectionKey(r)
	if !limited {
		return h.next.Handle(ctx, r)
	}
	s := h.state
	now := s.now()
	s.mu.Lock()
	w := s.windows[key]
	if w != nil && now.Sub(w.start) < s.interval {
		w.suppressed++
		s.mu.Unlock()
		return nil
	}
	var ended *limitWindow
	if w != nil {
		// The interval ended before its timer fired: summarise it now.
		ended = w
		w.timer.Stop()
	}
	w = &limitWindow{start: now, level: r.Level, next: h.next}
	s.windows[key] = w
	w.timer = time.AfterFunc(s.interval, func() { s.expire(key, w) })
	s.mu.Unlock()
	if ended != nil {
		s.summarise(key, ended)
	}
	return h.next.Handle(ctx, r)
}

// Flush writes the summary of every open interval now, for a clean
// shutdown; the next rejection of a key starts a new interval.
func (h *LimitHandler) Flush() {
	s := h.state
	s.mu.Lock()
	windows := s.windows
	s.windows = map[limitKey]*limitWindow{}
	s.mu.Unlock()
	for key, w := range windows {
		w.timer.Stop()
		s.summarise(key, w)
	}
}

// expire ends w when its timer fires, unless a newer interval replaced it.
func (s *limitState) expire(key limitKey, w *limitWindow) {
	s.mu.Lock()
	if s.windows[key] != w {
		s.mu.Unlock()
		return
	}
	delete(s.windows, key)
	s.mu.Unlock()
	s.summarise(key, w)
}

// summarise writes the summary line of an ended interval that suppressed
// lines; w is no longer reachable from the map, so its count is final.
func (s *limitState) summarise(key limitKey, w *limitWindow) {
	if w.suppressed == 0 {
		return
	}
	r := slog.NewRecord(s.now(), w.level, "suppressed repeated log lines", 0)
	r.AddAttrs(
		slog.String(KeyMethod, key.method),
		slog.String(KeyReason, key.reason),
		slog.Int(KeySuppressed, w.suppressed),
		slog.Duration("interval", s.interval),
	)
	_ = w.next.Handle(context.Background(), r)
}

// rejectionKey returns the method and reason of a designed rejection's
// record.
func rejectionKey(r slog.Record) (limitKey, bool) {
	var key limitKey
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case KeyReason:
			key.reason = a.Value.String()
		case KeyMethod:
			key.method = a.Value.String()
		}
		return true
	})
	return key, key.reason != "" && designedRejections[key.reason]
}
