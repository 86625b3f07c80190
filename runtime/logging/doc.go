// Package logging is govern's structured logging: log/slog's JSON handler
// with RFC 3339 timestamps, the standard "level" key, and the trace_id and
// span_id of the current OpenTelemetry span on every record, so a log line
// found in a search leads to its trace and back.
//
// runtime/governance writes one line per governed call (method, code,
// duration, error) with LogCall, at a level chosen by CodeLevel: successes
// at Debug so a busy service logs only what needs attention by default,
// server-side failures at Error. Panics are logged by runtime/recovery
// with their stack.
//
// It is log/slog rather than a logging library because slog is the
// standard library's structured logger: any handler (zap, zerolog bridges,
// OTel logs) plugs in through governance.WithLogger.
package logging
