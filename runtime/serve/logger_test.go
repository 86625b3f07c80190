package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestDefaultLoggerIsJSON runs a Server without WithLogger in a child
// process and reads its stderr: every lifecycle line is the process's JSON
// format (the governor's default), none is slog's default text.
func TestDefaultLoggerIsJSON(t *testing.T) {
	if os.Getenv("GOVERN_SERVE_LOGGER_CHILD") == "1" {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // serve, then shut down at once
		if err := New(WithHTTP("app", lis, NewHTTPServer(http.NewServeMux())), WithDrainDelay(0)).Run(ctx); err != nil {
			t.Fatal(err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDefaultLoggerIsJSON$")
	cmd.Env = append(os.Environ(), "GOVERN_SERVE_LOGGER_CHILD=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	msgs := map[string]bool{}
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stderr line %q is not JSON: %v", line, err)
		}
		if rec["time"] == nil || rec["level"] == nil {
			t.Fatalf("line %q lacks time or level", line)
		}
		msgs[rec["msg"].(string)] = true
	}
	for _, want := range []string{"serving HTTP", "shutdown requested", "stopped"} {
		if !msgs[want] {
			t.Errorf("no %q line in %q", want, lines)
		}
	}
}
