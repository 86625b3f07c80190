package discovery

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/base"
	_ "google.golang.org/grpc/balancer/roundrobin" // the peer of the benchmark
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/resolver"
)

// fakeSubConn is a SubConn that only needs to be picked.
type fakeSubConn struct {
	balancer.SubConn
	addr     string
	listener func(balancer.SubConnState)
	health   func(balancer.SubConnState)
}

func (f *fakeSubConn) Connect()  {}
func (f *fakeSubConn) Shutdown() {}
func (f *fakeSubConn) RegisterHealthListener(l func(balancer.SubConnState)) {
	f.health = l
}

// benchEndpoints is a fleet of 3 regions x (4 stable + 1 canary).
func benchEndpoints() []Endpoint {
	var eps []Endpoint
	for r, region := range []string{"us-west-2", "eu-west-1", "ap-south-1"} {
		for i := range 5 {
			colour := ""
			if i == 4 {
				colour = "canary"
			}
			eps = append(eps, Endpoint{Addr: fmt.Sprintf("10.0.%d.%d:443", r, i), Region: region, Colour: colour})
		}
	}
	return eps
}

func governPicker(eps []Endpoint) balancer.Picker {
	pb := &pickerBuilder{failingOver: map[string]bool{}}
	pb.setState(&pickState{localRegion: "us-west-2", defaultColour: DefaultColour})
	info := base.PickerBuildInfo{ReadySCs: map[balancer.SubConn]base.SubConnInfo{}}
	for _, ep := range eps {
		info.ReadySCs[&fakeSubConn{addr: ep.Addr}] = base.SubConnInfo{Address: Address(ep)}
	}
	return pb.Build(info)
}

// fakeClientConn catches the picker grpc-go's round_robin publishes.
type fakeClientConn struct {
	balancer.ClientConn
	mu     sync.Mutex
	scs    []*fakeSubConn
	picker balancer.Picker
	state  connectivity.State
}

func (f *fakeClientConn) NewSubConn(addrs []resolver.Address, opts balancer.NewSubConnOptions) (balancer.SubConn, error) {
	sc := &fakeSubConn{addr: addrs[0].Addr, listener: opts.StateListener}
	f.scs = append(f.scs, sc)
	return sc, nil
}
func (f *fakeClientConn) UpdateState(s balancer.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.picker, f.state = s.Picker, s.ConnectivityState
}
func (f *fakeClientConn) ResolveNow(resolver.ResolveNowOptions) {}
func (f *fakeClientConn) Target() string                        { return "bench" }

// roundRobinPicker builds grpc-go's own round_robin balancer over eps,
// drives every SubConn to READY and returns the picker it publishes.
func roundRobinPicker(tb testing.TB, eps []Endpoint) balancer.Picker {
	tb.Helper()
	cc := &fakeClientConn{}
	b := balancer.Get("round_robin").Build(cc, balancer.BuildOptions{})
	var st resolver.State
	for _, ep := range eps {
		st.Endpoints = append(st.Endpoints, resolver.Endpoint{Addresses: []resolver.Address{Address(ep)}})
	}
	if err := b.UpdateClientConnState(balancer.ClientConnState{ResolverState: st}); err != nil {
		tb.Fatal(err)
	}
	for _, sc := range cc.scs {
		sc.listener(balancer.SubConnState{ConnectivityState: connectivity.Connecting})
		sc.listener(balancer.SubConnState{ConnectivityState: connectivity.Ready})
		if sc.health != nil {
			sc.health(balancer.SubConnState{ConnectivityState: connectivity.Ready})
		}
	}
	if cc.state != connectivity.Ready {
		tb.Fatalf("round_robin state %v, want READY", cc.state)
	}
	return cc.picker
}

func benchPick(b *testing.B, p balancer.Picker, ctx context.Context) {
	info := balancer.PickInfo{FullMethodName: "/inventory.v1.InventoryService/Get", Ctx: ctx}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Pick(info); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPick compares a region- and colour-aware pick with grpc-go's
// round_robin pick over the same 15 ready endpoints.
func BenchmarkPick(b *testing.B) {
	eps := benchEndpoints()
	gp, rr := governPicker(eps), roundRobinPicker(b, eps)
	ctx := context.Background()
	// A handler's context is a few layers deep: deadline, metadata, span.
	deep, cancel := context.WithCancel(metadata.NewIncomingContext(ctx, metadata.Pairs("x-request-id", "1")))
	defer cancel()
	b.Run("peer=round_robin", func(b *testing.B) { benchPick(b, rr, deep) })
	// A handler's context after UnaryServerInterceptor read its headers.
	served := routedContext(deep)
	b.Run("case=local", func(b *testing.B) { benchPick(b, gp, served) })
	b.Run("case=local-client", func(b *testing.B) { benchPick(b, gp, ctx) })
	b.Run("case=colour-ctx", func(b *testing.B) { benchPick(b, gp, PreferColour(served, "canary")) })
	b.Run("case=region-ctx", func(b *testing.B) {
		benchPick(b, gp, WithRoute(served, Route{Region: "ap-south-1", Colour: "canary"}))
	})
	b.Run("case=colour-metadata-interceptor", func(b *testing.B) {
		benchPick(b, gp, routedContext(metadata.NewIncomingContext(ctx, metadata.Pairs("x-canary", "true"))))
	})
	// Without the server interceptor every pick reads the metadata.
	b.Run("case=colour-metadata-no-interceptor", func(b *testing.B) {
		benchPick(b, gp, metadata.NewIncomingContext(ctx, metadata.Pairs("x-canary", "true")))
	})
	b.Run("case=local-metadata-no-interceptor", func(b *testing.B) { benchPick(b, gp, deep) })
}

func TestPickerAllocatesNothing(t *testing.T) {
	p := governPicker(benchEndpoints())
	for name, ctx := range map[string]context.Context{
		"local":  context.Background(),
		"colour": PreferColour(context.Background(), "canary"),
		"region": WithRoute(context.Background(), Route{Region: "eu-west-1"}),
	} {
		info := balancer.PickInfo{Ctx: ctx}
		if n := testing.AllocsPerRun(100, func() { _, _ = p.Pick(info) }); n != 0 {
			t.Errorf("%s: %v allocations per pick, want 0", name, n)
		}
	}
}

func TestPickerRoutes(t *testing.T) {
	p := governPicker(benchEndpoints())
	pick := func(ctx context.Context) string {
		res, err := p.Pick(balancer.PickInfo{Ctx: ctx})
		if err != nil {
			t.Fatal(err)
		}
		return res.SubConn.(*fakeSubConn).addr
	}
	for range 20 {
		if a := pick(context.Background()); a < "10.0.0.0" || a > "10.0.0.3:443" {
			t.Fatalf("a call without preference went to %s; want a local stable endpoint 10.0.0.0-3", a)
		}
		if a := pick(PreferColour(context.Background(), "canary")); a != "10.0.0.4:443" {
			t.Fatalf("a canary call went to %s; want the local canary 10.0.0.4", a)
		}
		if a := pick(PreferRegion(context.Background(), "eu-west-1")); a < "10.0.1.0" || a > "10.0.1.3:443" {
			t.Fatalf("a call preferring eu-west-1 went to %s; want 10.0.1.0-3", a)
		}
	}
}
