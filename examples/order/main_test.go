//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMainGracefulSIGTERM runs the real entry point and stops it the way a
// platform does: SIGTERM flips readiness at once, the process exits 0 after
// the drain.
func TestMainGracefulSIGTERM(t *testing.T) {
	logs, logWriter := io.Pipe()
	exit := make(chan int, 1)
	go func() {
		exit <- run([]string{
			"-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0",
			"-drain-delay", "2s",
		}, func(string) string { return "" }, logWriter)
		_ = logWriter.Close()
	}()

	// The startup line names the bound addresses.
	lines := bufio.NewScanner(logs)
	var adminAddr string
	for adminAddr == "" && lines.Scan() {
		var line struct {
			Msg   string `json:"msg"`
			Admin string `json:"admin"`
			Level string `json:"level"`
		}
		if err := json.Unmarshal(lines.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", lines.Text())
		}
		if line.Msg == "order service started" {
			adminAddr = line.Admin
		}
	}
	if adminAddr == "" {
		t.Fatal("no startup line")
	}
	drained := make(chan string, 1)
	go func() {
		var all strings.Builder
		for lines.Scan() {
			all.WriteString(lines.Text() + "\n")
		}
		drained <- all.String()
	}()

	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	readyz := func() int {
		resp, err := client.Get("http://" + adminAddr + "/readyz")
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	deadline := time.Now().Add(10 * time.Second)
	for readyz() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(20 * time.Millisecond)
	}

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Within the drain delay the admin port still answers, not ready.
	deadline = time.Now().Add(1800 * time.Millisecond)
	for readyz() != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("readiness did not fail during the drain delay")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit code %d after SIGTERM, want 0; logs:\n%s", code, <-drained)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not exit after SIGTERM")
	}
	if logs := <-drained; !strings.Contains(logs, "terminated") || !strings.Contains(logs, `"msg":"stopped"`) {
		t.Fatalf("shutdown not logged:\n%s", logs)
	}
}
