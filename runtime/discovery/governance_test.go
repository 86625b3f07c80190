package discovery_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/govkit/govern/runtime/discovery"
	"github.com/govkit/govern/runtime/discovery/discoverytest"
	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/policy"
)

// A governed client dials by name: the governor's dial options carry the
// resolver and select the region-aware balancer inside the table's own
// service config. The far instance is listed first, so grpc-go's default
// pick_first would send every call there.
func TestGovernedClientDialsByName(t *testing.T) {
	near := discoverytest.Start(t, "127.0.0.2")
	far := discoverytest.Start(t, "127.0.0.3")
	reg := discovery.NewMemoryRegistry()
	reg.Set(service,
		discovery.Endpoint{Addr: far.Addr, Region: "eu-west-1"},
		discovery.Endpoint{Addr: near.Addr, Region: "us-west-2"},
	)
	b, err := discovery.NewBuilder(reg, discovery.WithLocalRegion("us-west-2"), discovery.WithProbe(100*time.Millisecond, 80*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	table := policy.Table{discoverytest.WhoMethod: {
		FullMethod: discoverytest.WhoMethod, Service: "govern.discoverytest.Echo", Name: "Who",
		Timeout: 2 * time.Second, IdempotencyLevel: policy.Idempotent,
	}}
	g, err := governance.New(table, governance.WithRegisterer(prometheus.NewRegistry()), governance.WithDiscovery(b))
	if err != nil {
		t.Fatal(err)
	}
	dial, err := g.DialOptionsFor(table)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("govern:///"+service, append(dial, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := t.Context()
	eventually(t, "the near instance serves", func() bool { return onlyFrom(servedBy(t, ctx, conn, 5), near.Addr) })
	if got := servedBy(t, ctx, conn, 30); !onlyFrom(got, near.Addr) {
		t.Fatalf("governed calls went to %v; want only the near instance %s", got, near.Addr)
	}
}
