package logging

import (
	"bytes"
	"io"
	"log"
	"log/slog"
	"os"
	"testing"

	"google.golang.org/grpc/grpclog"
)

// TestSetProcessLogger checks that slog's default, the log package and
// grpc-go's logger all write the process logger's JSON.
func TestSetProcessLogger(t *testing.T) {
	previous := slog.Default()
	t.Cleanup(func() {
		slog.SetDefault(previous)
		log.SetOutput(os.Stderr)
		grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard, os.Stderr))
	})
	var buf bytes.Buffer
	SetProcessLogger(New(&buf, nil).With("service", "order"))
	slog.Info("from slog")
	log.Print("from log")
	grpclog.Warning("from grpc")
	grpclog.Info("grpc info is debug, not logged at info")
	got := lines(t, &buf)
	if len(got) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(got), buf.String())
	}
	for i, msg := range []string{"from slog", "from log", "from grpc"} {
		if got[i]["msg"] != msg || got[i]["service"] != "order" {
			t.Errorf("line %d = %v, want msg %q with service", i, got[i], msg)
		}
	}
	if got[2]["level"] != "warn" || got[2]["component"] != "grpc" {
		t.Errorf("grpc line = %v", got[2])
	}
}
