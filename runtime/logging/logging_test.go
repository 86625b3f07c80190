package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func decode(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q is not JSON: %v", buf.String(), err)
	}
	return line
}

func TestLogCall(t *testing.T) {
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID})
	traced := trace.ContextWithSpanContext(context.Background(), sc)

	tests := []struct {
		name      string
		ctx       context.Context
		code      codes.Code
		err       error
		wantLevel string // "" when nothing is logged at Info
		wantTrace bool
	}{
		{"success is debug and skipped at info", traced, codes.OK, nil, "", false},
		{"caller error at info", traced, codes.NotFound, errors.New("no such order"), "info", true},
		{"overload at warn", context.Background(), codes.ResourceExhausted, errors.New("slow down"), "warn", false},
		{"server bug at error", traced, codes.Internal, errors.New("nil map"), "error", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			LogCall(tt.ctx, New(&buf, slog.LevelInfo), "/shop.v1.Orders/Create", tt.code, 1500*time.Microsecond, tt.err)
			if tt.wantLevel == "" {
				if buf.Len() != 0 {
					t.Fatalf("logged %q, want nothing", buf.String())
				}
				return
			}
			line := decode(t, &buf)
			if line["level"] != tt.wantLevel || line[KeyMethod] != "/shop.v1.Orders/Create" || line[KeyCode] != tt.code.String() {
				t.Errorf("line = %v", line)
			}
			if line[KeyDuration] != float64(1500*time.Microsecond) {
				t.Errorf("duration = %v", line[KeyDuration])
			}
			if line[KeyError] != tt.err.Error() {
				t.Errorf("error = %v", line[KeyError])
			}
			if _, err := time.Parse(time.RFC3339, line["time"].(string)); err != nil {
				t.Errorf("time %v is not RFC 3339: %v", line["time"], err)
			}
			if got := line[KeyTraceID] != nil; got != tt.wantTrace {
				t.Errorf("trace_id present = %v, want %v", got, tt.wantTrace)
			}
			if tt.wantTrace && (line[KeyTraceID] != traceID.String() || line[KeySpanID] != spanID.String()) {
				t.Errorf("trace ids = %v %v", line[KeyTraceID], line[KeySpanID])
			}
		})
	}
}

func TestTraceHandlerKeepsAttrsAndGroups(t *testing.T) {
	var buf bytes.Buffer
	logger := New(&buf, nil).With("service", "shop").WithGroup("req")
	logger.Info("hello", "id", 7)
	line := decode(t, &buf)
	if line["service"] != "shop" || line["req"].(map[string]any)["id"] != float64(7) {
		t.Fatalf("line = %v", line)
	}
}

func BenchmarkLogCallDisabled(b *testing.B) {
	var buf bytes.Buffer
	logger := New(&buf, slog.LevelInfo)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		LogCall(ctx, logger, "/s.S/M", codes.OK, time.Millisecond, nil)
	}
}
