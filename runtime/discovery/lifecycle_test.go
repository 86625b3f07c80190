package discovery_test

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/govkit/govern/runtime/discovery"
)

func TestLifecycleRegistersWhenTheRegistryReturns(t *testing.T) {
	reg := discovery.NewMemoryRegistry()
	reg.SetError(errors.New("connection refused"))
	ep := discovery.Endpoint{Addr: "127.0.0.2:7000", Region: "us-west-2"}
	lc, err := discovery.NewLifecycle(reg, service, ep, discovery.WithLifecycleLogger(quiet), discovery.WithRegisterBackoff(5*time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	lc.Start()
	defer func() { _ = lc.Stop(t.Context()) }()
	eventually(t, "Ready reports the unreachable registry", func() bool {
		err := lc.Ready(t.Context())
		return errors.Is(err, discovery.ErrNotRegistered) && err != nil && strings.Contains(err.Error(), "connection refused")
	})
	reg.SetError(nil)
	eventually(t, "the instance registers once the registry returns", func() bool { return lc.Ready(t.Context()) == nil })
	if got := reg.Endpoints(service); len(got) != 1 || !got[0].Equal(ep) {
		t.Fatalf("registry holds %v, want %v", got, ep)
	}
	if err := lc.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := reg.Endpoints(service); len(got) != 0 {
		t.Fatalf("after Stop the registry still holds %v", got)
	}
	if lc.Ready(t.Context()) == nil {
		t.Error("Ready is nil after Stop")
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
