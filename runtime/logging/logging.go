package logging

import (
	"context"
	"io"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// Attribute keys of call log lines.
const (
	KeyTraceID  = "trace_id"
	KeySpanID   = "span_id"
	KeyMethod   = "method"
	KeyCode     = "code"
	KeyDuration = "duration"
	KeyError    = "error"
)

// timeFormat is RFC 3339 with milliseconds, the form log pipelines parse.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// NewHandler returns govern's JSON handler writing to w: slog's JSON
// handler with the time in RFC 3339 (UTC, milliseconds) and the trace_id and
// span_id of the span in the record's context added to every record.
// level may be nil (Info).
func NewHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return NewTraceHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
				return slog.String(slog.TimeKey, a.Value.Time().UTC().Format(timeFormat))
			}
			return a
		},
	}))
}

// New returns a logger on NewHandler(w, level).
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(NewHandler(w, level))
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
	}
	logger.LogAttrs(ctx, level, "finished call", attrs...)
}
