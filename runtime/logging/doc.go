// Package logging is govern's structured logging: log/slog's JSON handler
// with RFC 3339 timestamps, the standard "level" key in lower case
// (debug/info/warn/error), and the trace_id and span_id of the current
// OpenTelemetry span on every record, so a log line found in a search
// leads to its trace and back.
//
// One logger per process: a main builds it with New and hands it to
// SetProcessLogger, which makes it slog's default and grpc-go's logger;
// the governor (governance.WithLogger) and the servers (serve.WithLogger)
// take the same logger, so every line the process writes has one format.
//
// runtime/governance writes one line per governed call (method, code,
// duration, error, and the ErrorInfo reason of a rejection) with LogCall,
// at a level chosen by CodeLevel: successes at Debug so a busy service
// logs only what needs attention by default, server-side failures at
// Error. Panics are logged by runtime/recovery with their stack.
//
// Designed rejections (RATE_LIMITED, CIRCUIT_OPEN, IDEMPOTENCY_IN_FLIGHT)
// are what a service does on purpose under overload, and they are counted
// by metrics; logging each of them would let an attack or a retry storm
// fill the disk and spend the CPU the limit was saving. LimitHandler, part
// of NewHandler by default, writes the first such line per method and
// reason in each interval and one summary line with the count of the rest.
//
// It is log/slog rather than a logging library because slog is the
// standard library's structured logger: any handler (zap, zerolog bridges,
// OTel logs) plugs in through governance.WithLogger.
package logging
