package logging

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/errinfo"
)

// lines decodes every JSON line of buf.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, line)
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a
// logger shared by goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// TestRejectionLinesAreBounded floods one method with rate-limit
// rejections from many goroutines: one line is written, one summary counts
// the rest, and every other line (another method, another reason, a plain
// error) still gets through.
func TestRejectionLinesAreBounded(t *testing.T) {
	var out syncBuffer
	clock := time.Unix(1700000000, 0)
	var clockMu sync.Mutex
	h := NewLimitHandler(NewTraceHandler(slog.NewJSONHandler(&out, &slog.HandlerOptions{ReplaceAttr: replaceTimeAndLevel})), time.Hour)
	h.state.now = func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
	logger := slog.New(h).With("service", "order")

	limited := errinfo.Error(codes.ResourceExhausted, errinfo.RateLimited, "rate limit exceeded", 0, nil)
	const callers, calls = 8, 500
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range calls {
				LogCall(context.Background(), logger, "/shop.v1.Orders/List", codes.ResourceExhausted, time.Millisecond, limited)
			}
		})
	}
	wg.Wait()
	LogCall(context.Background(), logger, "/shop.v1.Orders/Get", codes.ResourceExhausted, time.Millisecond, limited)
	LogCall(context.Background(), logger, "/shop.v1.Orders/List", codes.Unavailable, time.Millisecond, errors.New("database down"))

	got := lines(t, &out.buf)
	if len(got) != 3 {
		t.Fatalf("%d calls wrote %d lines, want 3 (first List rejection, Get rejection, the plain error):\n%s", callers*calls+2, len(got), out.buf.String())
	}
	if got[0][KeyReason] != errinfo.RateLimited || got[0]["level"] != "warn" || got[0]["service"] != "order" {
		t.Errorf("first line = %v", got[0])
	}

	// The interval ends: its summary comes before the next interval's first line.
	clockMu.Lock()
	clock = clock.Add(2 * time.Hour)
	clockMu.Unlock()
	out.buf.Reset()
	LogCall(context.Background(), logger, "/shop.v1.Orders/List", codes.ResourceExhausted, time.Millisecond, limited)
	got = lines(t, &out.buf)
	if len(got) != 2 {
		t.Fatalf("after the interval: %d lines, want the summary and the new first line:\n%s", len(got), out.buf.String())
	}
	if got[0][KeySuppressed] != float64(callers*calls-1) || got[0][KeyMethod] != "/shop.v1.Orders/List" || got[0]["service"] != "order" {
		t.Errorf("summary = %v, want suppressed=%d with the logger's attrs", got[0], callers*calls-1)
	}

	// Flush summarises what is open; a key without suppressed lines writes nothing.
	out.buf.Reset()
	LogCall(context.Background(), logger, "/shop.v1.Orders/List", codes.ResourceExhausted, time.Millisecond, limited)
	h.Flush()
	got = lines(t, &out.buf)
	if len(got) != 1 || got[0][KeySuppressed] != float64(1) {
		t.Fatalf("flush wrote %v, want one summary with suppressed=1", got)
	}
}

// TestRejectionSummaryOnTimer checks the summary is written when the
// interval's timer fires, without any further line (a storm that stops).
func TestRejectionSummaryOnTimer(t *testing.T) {
	var out syncBuffer
	h := NewLimitHandler(slog.NewJSONHandler(&out, nil), time.Millisecond)
	frozen := time.Now()
	h.state.now = func() time.Time { return frozen } // the three lines fall in one interval however slow the machine
	logger := slog.New(h)
	open := errinfo.Error(codes.Unavailable, errinfo.CircuitOpen, "circuit open", 0, nil)
	for range 3 {
		LogCall(context.Background(), logger, "/s.S/M", codes.Unavailable, 0, open)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out.mu.Lock()
		n := bytes.Count(out.buf.Bytes(), []byte(`"suppressed"`))
		out.mu.Unlock()
		if n == 1 || time.Now().After(deadline) {
			if n != 1 {
				t.Fatalf("no summary written after the interval:\n%s", out.buf.String())
			}
			break
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLevelIsLowerCase(t *testing.T) {
	var buf bytes.Buffer
	logger := New(&buf, slog.LevelDebug)
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		logger.Log(context.Background(), l, "x")
	}
	want := []string{"debug", "info", "warn", "error"}
	for i, line := range lines(t, &buf) {
		if line["level"] != want[i] {
			t.Errorf("line %d level = %v, want %s", i, line["level"], want[i])
		}
		if _, err := time.Parse(time.RFC3339, line["time"].(string)); err != nil {
			t.Errorf("time %v is not RFC 3339: %v", line["time"], err)
		}
	}
}

func BenchmarkRejectionLine(b *testing.B) {
	var buf bytes.Buffer
	limited := errinfo.Error(codes.ResourceExhausted, errinfo.RateLimited, "rate limit exceeded", 0, nil)
	for _, bc := range []struct {
		name string
		opts []Option
	}{{"unbounded", []Option{WithRejectionInterval(0)}}, {"bounded", nil}} {
		b.Run(bc.name, func(b *testing.B) {
			logger := New(&buf, nil, bc.opts...)
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				LogCall(context.Background(), logger, "/s.S/M", codes.ResourceExhausted, time.Millisecond, limited)
			}
		})
	}
}
