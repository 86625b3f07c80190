package redistest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

// recorder captures how Unreachable ends a test without ending this one.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()           {}
func (r *recorder) Fatal(args ...any) { r.fatal = args[0].(string) }
func (r *recorder) Skip(args ...any)  { r.skip = args[0].(string) }
func (r *recorder) Cleanup(f func())  {}
func (r *recorder) Name() string      { return "recorder" }

func TestUnreachableFailsUnderCIAndSkipsOtherwise(t *testing.T) {
	err := errors.New("connection refused")

	t.Setenv("CI", "1")
	r := &recorder{}
	Unreachable(r, "127.0.0.1:1", err)
	if r.fatal == "" || r.skip != "" || !strings.Contains(r.fatal, "CI requires it") {
		t.Errorf("under CI: fatal=%q skip=%q", r.fatal, r.skip)
	}

	t.Setenv("CI", "")
	r = &recorder{}
	Unreachable(r, "127.0.0.1:1", err)
	if r.skip == "" || r.fatal != "" || !strings.Contains(r.skip, "GOVERN_REDIS_ADDR") {
		t.Errorf("outside CI: fatal=%q skip=%q", r.fatal, r.skip)
	}
}

func TestAddrReadsEnvironment(t *testing.T) {
	t.Setenv("GOVERN_REDIS_ADDR", "")
	if Addr() != DefaultAddr {
		t.Errorf("Addr() = %q, want default", Addr())
	}
	t.Setenv("GOVERN_REDIS_ADDR", "10.0.0.1:7000")
	if Addr() != "10.0.0.1:7000" {
		t.Errorf("Addr() = %q", Addr())
	}
}

func TestClientPings(t *testing.T) {
	c := Client(t)
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
}

// StartRedis with a replica returns a primary whose writes the replica
// acknowledges; without one, a primary that has none.
func TestStartRedis(t *testing.T) {
	ctx := context.Background()
	for replicas := range 2 {
		client := StartRedis(t, replicas)
		if err := client.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		n, err := client.Wait(ctx, 1, 200*time.Millisecond).Result()
		if err != nil || n != int64(replicas) {
			t.Errorf("WAIT 1 with %d replicas: %d, %v", replicas, n, err)
		}
	}
}
