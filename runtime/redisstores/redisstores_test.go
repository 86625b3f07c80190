package redisstores_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
	"github.com/govkit/govern/internal/redistest"
	"github.com/govkit/govern/runtime/redisstores"
)

func TestOpenRejectsAConfigThatCannotWork(t *testing.T) {
	for _, tc := range []struct {
		cfg  redisstores.Config
		want string
	}{
		{redisstores.Config{}, "no Redis address"},
		{redisstores.Config{Addrs: []string{"127.0.0.1:6379", ""}}, "empty address"},
		{redisstores.Config{Addrs: []string{"127.0.0.1:6379"}, ReplicaAcks: 1}, "timeout > 0"},
	} {
		if s, err := redisstores.Open(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			if s != nil {
				_ = s.Close()
			}
			t.Errorf("Open(%+v) = %v, want an error saying %q", tc.cfg, err, tc.want)
		}
	}
}

// Ready passes on a live Redis and fails, naming it, on a dead one; each
// probe sets both stores' state gauges.
func TestReadySetsBothGauges(t *testing.T) {
	for _, tc := range []struct {
		addr, state string
		ok          bool
	}{
		{redistest.RequireAddr(t), "available", true},
		{"127.0.0.1:1", "unavailable", false},
	} {
		reg := prometheus.NewRegistry()
		s, err := redisstores.Open(redisstores.Config{Addrs: []string{tc.addr}, Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Ready(context.Background())
		_ = s.Close()
		if tc.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.addr)) {
			t.Fatalf("Ready on %s = %v, want ok=%v (an error naming the address)", tc.addr, err, tc.ok)
		}
		for _, gauge := range []string{"govern_idempotency_store_state", "govern_ratelimit_store_state"} {
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, mf := range mfs {
				if mf.GetName() != gauge {
					continue
				}
				for _, m := range mf.GetMetric() {
					if m.GetLabel()[0].GetValue() == tc.state && m.GetGauge().GetValue() == 1 {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("%s: %s{state=%q} is not 1 after Ready", tc.addr, gauge, tc.state)
			}
		}
		if n := testutil.CollectAndCount(reg, "govern_idempotency_store_state", "govern_ratelimit_store_state"); n != 6 {
			t.Errorf("%d state series, want 3 per store", n)
		}
	}
}
