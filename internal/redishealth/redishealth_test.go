package redishealth

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
	"github.com/govkit/govern/internal/redistest"
)

var cluster redistest.SharedCluster

func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m, &cluster, 5*time.Second)) }

func TestReportErr(t *testing.T) {
	for _, tc := range []struct {
		rep  Report
		want string
	}{
		{Report{State: Available}, ""},
		{Report{State: Degraded, Problems: []string{"node 127.0.0.1:7001 (replica, slots 0-5460) is fail"}}, ""},
		{Report{State: Unavailable}, "redis is unavailable"},
		{Report{State: Unavailable, Problems: []string{"a", "b"}}, "redis is unavailable: a; b"},
	} {
		err := tc.rep.Err()
		if (err == nil) != (tc.want == "") || (err != nil && err.Error() != tc.want) {
			t.Errorf("%+v.Err() = %v, want %q", tc.rep, err, tc.want)
		}
	}
}

func TestSetStateMarksExactlyOneState(t *testing.T) {
	g := NewStateGauge("govern_test_store_state", "a test store")
	for _, st := range States {
		SetState(g, st)
		for _, other := range States {
			want := 0.0
			if other == st {
				want = 1
			}
			if got := testutil.ToFloat64(g.WithLabelValues(other.String())); got != want {
				t.Errorf("after SetState(%v): %s = %v, want %v", st, other, got, want)
			}
		}
	}
}

func TestProbeSingleRedis(t *testing.T) {
	if rep := Probe(context.Background(), redistest.Client(t), 0); rep.State != Available || rep.Err() != nil {
		t.Fatalf("Probe of the test Redis = %+v, want available", rep)
	}
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer down.Close()
	rep := Probe(context.Background(), down, 0)
	if rep.State != Unavailable || !strings.Contains(rep.Err().Error(), "127.0.0.1:1") {
		t.Fatalf("Probe of a closed port = %+v, want unavailable naming 127.0.0.1:1", rep)
	}
}

func TestProbeCluster(t *testing.T) {
	c := cluster.Get(t)
	client := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	if rep := Probe(ctx, client, 1); rep.State != Available {
		t.Fatalf("healthy cluster, one replica required: %+v, want available", rep)
	}
	// Each primary has one replica: a store that must wait for two cannot
	// be served by any shard, and the report names every primary.
	rep := Probe(ctx, client, 2)
	if rep.State != Unavailable || len(rep.Problems) != 3 {
		t.Fatalf("two replicas required of one: %+v, want unavailable with one problem per primary", rep)
	}
	for _, p := range rep.Problems {
		if !strings.Contains(p, "has 1 replicas online, 2 must acknowledge") {
			t.Errorf("problem %q does not say what is missing", p)
		}
	}
}

func TestRefreshOnErrorIgnoresSuccessAndNil(t *testing.T) {
	// A nil or redis.Nil error is no reason to reload the slot map; a real
	// error on a non-cluster client is nothing to reload either. None of
	// these may panic or block.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	RefreshOnError(client, nil)
	RefreshOnError(client, redis.Nil)
	RefreshOnError(client, errors.New("boom"))
}
