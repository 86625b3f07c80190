package logging

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/errinfo"
)

// Attribute keys of call log lines.
const (
	KeyTraceID  = "trace_id"
	KeySpanID   = "span_id"
	KeyMethod   = "method"
	KeyCode     = "code"
	KeyDuration = "duration"
	KeyError    = "error"
	// KeyReason holds the govern ErrorInfo reason of a rejected call
	// (RATE_LIMITED, CIRCUIT_OPEN, ...); LimitHandler bounds the lines
	// that carry a designed rejection's reason.
	KeyReason = "reason"
)

// timeFormat is RFC 3339 with milliseconds, the form log pipelines parse.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// NewHandler returns govern's JSON handler writing to w: slog's JSON
// handler with the time in RFC 3339 (UTC, milliseconds), the level in lower
// case ("info", "warn", "error", as log pipelines and the field guide
// expect), the trace_id and span_id of the span in the record's context
// added to every record, and the lines of designed rejections bounded per
// method by a LimitHandler (see WithRejectionInterval). level may be nil
// (Info).
func NewHandler(w io.Writer, level slog.Leveler, opts ...Option) slog.Handler {
	c := options{rejectionInterval: DefaultRejectionInterval}
	for _, o := range opts {
		o(&c)
	}
	var h slog.Handler = NewTraceHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level:       level,
		ReplaceAttr: replaceTimeAndLevel,
	}))
	if c.rejectionInterval > 0 {
		h = NewLimitHandler(h, c.rejectionInterval)
	}
	return h
}

// replaceTimeAndLevel writes the time in RFC 3339 UTC with milliseconds
// and the level in lower case.
func replaceTimeAndLevel(groups []string, a slog.Attr) slog.Attr {
	if len(groups) != 0 {
		return a
	}
	switch {
	case a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime:
		return slog.String(slog.TimeKey, a.Value.Time().UTC().Format(timeFormat))
	case a.Key == slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String(slog.LevelKey, strings.ToLower(l.String()))
		}
	}
	return a
}

// Option configures NewHandler and New.
type Option func(*options)

type options struct {
	rejectionInterval time.Duration
}

// WithRejectionInterval sets the interval of the rejection line limit: per
// method and reason, the first line of a designed rejection in each
// interval is written and the rest are counted into one summary line
// (default DefaultRejectionInterval). 0 writes every line.
func WithRejectionInterval(d time.Duration) Option {
	return func(o *options) { o.rejectionInterval = d }
}

// New returns a logger on NewHandler(w, level, opts...).
func New(w io.Writer, level slog.Leveler, opts ...Option) *slog.Logger {
	return slog.New(NewHandler(w, level, opts...))
}

// TraceHandler adds trace_id and span_id to records logged with a context
// carrying a valid OpenTelemetry span context (sampled or not), so logs and
// traces join on the same ids.
type TraceHandler struct {
	next slog.Handler
}

// NewTraceHandler wraps next.
func NewTraceHandler(next slog.Handler) *TraceHandler { return &TraceHandler{next: next} }

// Enabled implements slog.Handler.
func (h *TraceHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle implements slog.Handler.
func (h *TraceHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r.AddAttrs(slog.String(KeyTraceID, sc.TraceID().String()), slog.String(KeySpanID, sc.SpanID().String()))
		}
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *TraceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &TraceHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h *TraceHandler) WithGroup(name string) slog.Handler {
	return &TraceHandler{next: h.next.WithGroup(name)}
}

// CodeLevel is the level of a call's log line by its status code: OK at
// Debug (a busy service does not log every success unless asked), the
// caller's own errors at Info, overload and dependency trouble at Warn,
// server bugs at Error.
func CodeLevel(code codes.Code) slog.Level {
	switch code {
	case codes.OK:
		return slog.LevelDebug
	case codes.Canceled, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists,
		codes.PermissionDenied, codes.Unauthenticated, codes.FailedPrecondition,
		codes.OutOfRange, codes.Aborted:
		return slog.LevelInfo
	case codes.DeadlineExceeded, codes.ResourceExhausted, codes.Unavailable:
		return slog.LevelWarn
	default: // Unknown, Unimplemented, Internal, DataLoss
		return slog.LevelError
	}
}

// LogCall writes one call's line, at CodeLevel(code), unless the logger
// is disabled at that level, in which case it costs one Enabled check.
func LogCall(ctx context.Context, logger *slog.Logger, method string, code codes.Code, elapsed time.Duration, err error) {
	LogCallAt(ctx, logger, CodeLevel(code), method, code, elapsed, err)
}

// LogCallAt is LogCall at an explicit level.
func LogCallAt(ctx context.Context, logger *slog.Logger, level slog.Level, method string, code codes.Code, elapsed time.Duration, err error) {
	if !logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String(KeyMethod, method),
		slog.String(KeyCode, code.String()),
		slog.Duration(KeyDuration, elapsed),
	}
	if err != nil {
		attrs = append(attrs, slog.String(KeyError, err.Error()))
		if reason := errinfo.Reason(err); reason != "" {
			attrs = append(attrs, slog.String(KeyReason, reason))
		}
	}
	logger.LogAttrs(ctx, level, "finished call", attrs...)
}
