package discovery_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/govkit/govern/runtime/discovery"
	"github.com/govkit/govern/runtime/discovery/discoverytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const service = "inventory"

// dial returns a ClientConn to govern:///inventory through a Builder on reg.
func dial(t *testing.T, reg discovery.Registry, opts ...discovery.Option) (*grpc.ClientConn, *prometheus.Registry) {
	t.Helper()
	metrics := prometheus.NewRegistry()
	b, err := discovery.NewBuilder(reg, append([]discovery.Option{
		discovery.WithRegisterer(metrics),
		discovery.WithLogger(quiet),
		discovery.WithProbe(100*time.Millisecond, 80*time.Millisecond),
		// Two failures in a row: one slow probe on a loaded CI host
		// must not move calls.
		discovery.WithProbeThreshold(2),
		discovery.WithRetryBackoff(10*time.Millisecond, 50*time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("govern:///"+service, append(b.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn, metrics
}

// servedBy makes n calls and counts the answering addresses.
func servedBy(t *testing.T, ctx context.Context, conn *grpc.ClientConn, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		addr, err := discoverytest.Who(cctx, conn)
		cancel()
		if err != nil {
			got["error: "+err.Error()]++
			continue
		}
		got[addr]++
	}
	return got
}

// eventually polls cond for up to 10 s; the bound is generous because the
// machine is shared, and nothing is asserted about the time taken.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func onlyFrom(got map[string]int, addrs ...string) bool {
	for k := range got {
		ok := false
		for _, a := range addrs {
			ok = ok || k == a
		}
		if !ok {
			return false
		}
	}
	return len(got) > 0
}

func TestCallsStayLocalFailOverAndComeBack(t *testing.T) {
	near1 := discoverytest.Start(t, "127.0.0.2")
	near2 := discoverytest.Start(t, "127.0.0.2")
	far := discoverytest.Start(t, "127.0.0.3")
	reg := discovery.NewMemoryRegistry()
	reg.Set(service,
		discovery.Endpoint{Addr: near1.Addr, Region: "us-west-2"},
		discovery.Endpoint{Addr: near2.Addr, Region: "us-west-2"},
		discovery.Endpoint{Addr: far.Addr, Region: "eu-west-1"},
	)
	conn, metrics := dial(t, reg, discovery.WithLocalRegion("us-west-2"))
	ctx := t.Context()

	eventually(t, "both near endpoints serve", func() bool {
		got := servedBy(t, ctx, conn, 20)
		return onlyFrom(got, near1.Addr, near2.Addr) && got[near1.Addr] > 0 && got[near2.Addr] > 0
	})
	if got := servedBy(t, ctx, conn, 50); !onlyFrom(got, near1.Addr, near2.Addr) {
		t.Fatalf("with the local region healthy, calls went to %v; want only the near endpoints", got)
	}

	failoversBefore := discoverytest.MetricSum(t, metrics, "govern_discovery_failovers_total", map[string]string{"region": "us-west-2"})
	near1.SetServing(false)
	near2.SetServing(false)
	eventually(t, "calls fail over to the far region", func() bool {
		return onlyFrom(servedBy(t, ctx, conn, 10), far.Addr)
	})
	if n := discoverytest.MetricSum(t, metrics, "govern_discovery_failovers_total", map[string]string{"region": "us-west-2"}) - failoversBefore; n != 1 {
		t.Errorf("govern_discovery_failovers_total grew by %v during the brownout, want 1", n)
	}
	if n := discoverytest.MetricSum(t, metrics, "govern_discovery_endpoints", map[string]string{"region": "us-west-2", "state": "unhealthy"}); n != 2 {
		t.Errorf("govern_discovery_endpoints{region=us-west-2,state=unhealthy} = %v, want 2", n)
	}

	near1.SetServing(true)
	eventually(t, "calls come back to the local region", func() bool {
		return onlyFrom(servedBy(t, ctx, conn, 10), near1.Addr)
	})
}

func TestMinLocalFractionFailsOverEarly(t *testing.T) {
	near1 := discoverytest.Start(t, "127.0.0.2")
	near2 := discoverytest.Start(t, "127.0.0.2")
	far := discoverytest.Start(t, "127.0.0.3")
	reg := discovery.NewMemoryRegistry()
	reg.Set(service,
		discovery.Endpoint{Addr: near1.Addr, Region: "us-west-2"},
		discovery.Endpoint{Addr: near2.Addr, Region: "us-west-2"},
		discovery.Endpoint{Addr: far.Addr, Region: "eu-west-1"},
	)
	conn, _ := dial(t, reg, discovery.WithLocalRegion("us-west-2"), discovery.WithMinLocalFraction(0.75))
	ctx := t.Context()
	eventually(t, "calls stay local", func() bool { return onlyFrom(servedBy(t, ctx, conn, 10), near1.Addr, near2.Addr) })
	near2.Stop() // one of two local endpoints left: 50% < 75%
	eventually(t, "calls spread over every region", func() bool {
		got := servedBy(t, ctx, conn, 20)
		return onlyFrom(got, near1.Addr, far.Addr) && got[far.Addr] > 0 && got[near1.Addr] > 0
	})
}

func TestRegistryOutageKeepsLastKnownEndpoints(t *testing.T) {
	s := discoverytest.Start(t, "127.0.0.2")
	reg := discovery.NewMemoryRegistry()
	reg.Set(service, discovery.Endpoint{Addr: s.Addr, Region: "us-west-2"})
	conn, metrics := dial(t, reg, discovery.WithLocalRegion("us-west-2"))
	ctx := t.Context()
	eventually(t, "the endpoint serves", func() bool { return onlyFrom(servedBy(t, ctx, conn, 5), s.Addr) })

	reg.SetError(errors.New("registry unreachable"))
	eventually(t, "the resolver reports the registry errors", func() bool {
		return discoverytest.MetricSum(t, metrics, "govern_discovery_registry_errors_total", nil) >= 3
	})
	if got := servedBy(t, ctx, conn, 20); !onlyFrom(got, s.Addr) {
		t.Fatalf("during a registry outage calls got %v; want every call served by the last known endpoint", got)
	}
	if v := discoverytest.MetricSum(t, metrics, "govern_discovery_stale", nil); v != 1 {
		t.Errorf("govern_discovery_stale = %v during the outage, want 1", v)
	}
	reg.SetError(nil)
	eventually(t, "the stale gauge clears", func() bool {
		return discoverytest.MetricSum(t, metrics, "govern_discovery_stale", nil) == 0
	})
}

func TestRegistryDownAtStartReportsAndRecovers(t *testing.T) {
	s := discoverytest.Start(t, "127.0.0.2")
	reg := discovery.NewMemoryRegistry()
	reg.SetError(errors.New("registry unreachable"))
	conn, _ := dial(t, reg)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	_, err := discoverytest.Who(ctx, conn)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "registry unreachable") {
		t.Fatalf("a call with no endpoint known yet returned %v; want the registry's error", err)
	}
	reg.Set(service, discovery.Endpoint{Addr: s.Addr})
	reg.SetError(nil)
	eventually(t, "the endpoint serves once the registry answers", func() bool { return onlyFrom(servedBy(t, t.Context(), conn, 3), s.Addr) })
}

func TestColourRouting(t *testing.T) {
	stable := discoverytest.Start(t, "127.0.0.2")
	canary := discoverytest.Start(t, "127.0.0.2")
	farCanary := discoverytest.Start(t, "127.0.0.3")
	reg := discovery.NewMemoryRegistry()
	reg.Set(service,
		discovery.Endpoint{Addr: stable.Addr, Region: "us-west-2"},
		discovery.Endpoint{Addr: canary.Addr, Region: "us-west-2", Colour: "canary"},
		discovery.Endpoint{Addr: farCanary.Addr, Region: "eu-west-1", Colour: "canary"},
	)
	conn, _ := dial(t, reg, discovery.WithLocalRegion("us-west-2"))
	ctx := t.Context()
	eventually(t, "every endpoint is ready", func() bool {
		return onlyFrom(servedBy(t, discovery.PreferColour(ctx, "canary"), conn, 4), canary.Addr) &&
			onlyFrom(servedBy(t, ctx, conn, 4), stable.Addr) &&
			onlyFrom(servedBy(t, discovery.WithRoute(ctx, discovery.Route{Region: "eu-west-1", Colour: "canary"}), conn, 4), farCanary.Addr)
	})
	cases := []struct {
		name string
		ctx  context.Context
		want []string
	}{
		{"no preference goes to the default colour", ctx, []string{stable.Addr}},
		{"context colour", discovery.PreferColour(ctx, "canary"), []string{canary.Addr}},
		{"incoming x-canary: true", metadata.NewIncomingContext(ctx, metadata.Pairs("x-canary", "true")), []string{canary.Addr}},
		{"incoming x-canary: false", metadata.NewIncomingContext(ctx, metadata.Pairs("x-canary", "false")), []string{stable.Addr}},
		{"incoming x-region picks the far canary", metadata.NewIncomingContext(ctx, metadata.Pairs("x-canary", "1", "x-region", "eu-west-1")), []string{farCanary.Addr}},
		{"unknown colour falls back to the default", discovery.PreferColour(ctx, "blue"), []string{stable.Addr}},
		{"unknown region spreads over the colour", discovery.WithRoute(ctx, discovery.Route{Region: "ap-south-1", Colour: "canary"}), []string{canary.Addr, farCanary.Addr}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := servedBy(t, tc.ctx, conn, 10); !onlyFrom(got, tc.want...) {
				t.Errorf("calls went to %v, want only %v", got, tc.want)
			}
		})
	}
	// The default colour without a ready endpoint: calls go to any colour.
	stable.Stop()
	eventually(t, "calls without a colour reach the canaries", func() bool {
		return onlyFrom(servedBy(t, ctx, conn, 10), canary.Addr)
	})
}

func TestTargetErrorsNameTheFix(t *testing.T) {
	reg := discovery.NewMemoryRegistry()
	b, err := discovery.NewBuilder(reg, discovery.WithoutProbing())
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]string{
		"govern:///inventory?dc=eu": `unknown parameter "dc"`,
		"govern://etcd/inventory":   "names an authority",
		"govern:///":                "write govern:///<service>",
		"govern:///a/b":             "write govern:///<service>",
	} {
		conn, err := grpc.NewClient(target, append(b.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		if err == nil {
			conn.Connect()
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			_, err = discoverytest.Who(ctx, conn)
			cancel()
			_ = conn.Close()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to contain %q", target, err, want)
		}
	}
	for _, tc := range []struct {
		opt  discovery.Option
		want string
	}{
		{discovery.WithLocalRegion("US West"), "WithLocalRegion"},
		{discovery.WithMinLocalFraction(2), "[0, 1]"},
		{discovery.WithProbe(time.Second, 2*time.Second), "timeout at most the interval"},
		{discovery.WithDefaultColour(""), "WithDefaultColour"},
		{discovery.WithProbeThreshold(0), "WithProbeThreshold"},
	} {
		if _, err := discovery.NewBuilder(reg, tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewBuilder: err = %v, want it to contain %q", err, tc.want)
		}
	}
}

func TestAddressCarriesRegionAndColour(t *testing.T) {
	ep := discovery.Endpoint{Addr: "127.0.0.2:80", Region: "us-west-2", Attributes: map[string]string{"version": "1.2"}}
	got, ok := discovery.EndpointFromAddress(discovery.Address(ep))
	if !ok || got.Region != "us-west-2" || got.Colour != discovery.DefaultColour || got.Attributes["version"] != "1.2" {
		t.Fatalf("EndpointFromAddress(Address(%+v)) = %+v, %v", ep, got, ok)
	}
}
