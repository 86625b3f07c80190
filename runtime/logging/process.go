package logging

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"google.golang.org/grpc/grpclog"
)

// SetProcessLogger makes logger the one logger of the process, for a main
// function to call once before it starts gRPC: slog's default logger (and
// through it the standard log package's output) and grpc-go's internal
// logger (grpclog) both write through it, so every line the process
// writes is the same JSON with the same service/env/region attributes.
// grpc-go's info lines are logged at Debug, its warnings at Warn and its
// errors at Error.
//
// It changes process-wide state by design: libraries never call it, only
// a main package (the scaffolded one does).
func SetProcessLogger(logger *slog.Logger) {
	slog.SetDefault(logger)
	grpclog.SetLoggerV2(&grpcLogger{logger: logger})
}

// grpcLogger adapts a slog.Logger to grpclog.LoggerV2.
type grpcLogger struct{ logger *slog.Logger }

func (l *grpcLogger) log(level slog.Level, msg string) {
	l.logger.Log(context.Background(), level, msg, "component", "grpc")
}

func (l *grpcLogger) Info(args ...any)   { l.log(slog.LevelDebug, fmt.Sprint(args...)) }
func (l *grpcLogger) Infoln(args ...any) { l.log(slog.LevelDebug, fmt.Sprint(args...)) }
func (l *grpcLogger) Infof(format string, args ...any) {
	l.log(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (l *grpcLogger) Warning(args ...any)   { l.log(slog.LevelWarn, fmt.Sprint(args...)) }
func (l *grpcLogger) Warningln(args ...any) { l.log(slog.LevelWarn, fmt.Sprint(args...)) }
func (l *grpcLogger) Warningf(format string, args ...any) {
	l.log(slog.LevelWarn, fmt.Sprintf(format, args...))
}
func (l *grpcLogger) Error(args ...any)   { l.log(slog.LevelError, fmt.Sprint(args...)) }
func (l *grpcLogger) Errorln(args ...any) { l.log(slog.LevelError, fmt.Sprint(args...)) }
func (l *grpcLogger) Errorf(format string, args ...any) {
	l.log(slog.LevelError, fmt.Sprintf(format, args...))
}

// Fatal logs at Error and exits, as grpclog's contract requires.
func (l *grpcLogger) Fatal(args ...any) { l.log(slog.LevelError, fmt.Sprint(args...)); os.Exit(1) }

// Fatalln logs at Error and exits.
func (l *grpcLogger) Fatalln(args ...any) { l.log(slog.LevelError, fmt.Sprint(args...)); os.Exit(1) }

// Fatalf logs at Error and exits.
func (l *grpcLogger) Fatalf(format string, args ...any) {
	l.log(slog.LevelError, fmt.Sprintf(format, args...))
	os.Exit(1)
}

// V reports whether grpc-go's verbosity level l is logged: only level 0,
// and only when the logger logs Debug.
func (l *grpcLogger) V(level int) bool {
	return level <= 0 && l.logger.Enabled(context.Background(), slog.LevelDebug)
}
