package discovery

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/base"
)

// BalancerName is the name the region- and colour-aware balancer is
// registered under with grpc-go.
const BalancerName = "govern_region_aware"

// LoadBalancingConfig is the loadBalancingConfig value of a gRPC service
// config that selects the balancer.
const LoadBalancingConfig = `[{"` + BalancerName + `":{}}]`

var registerOnce sync.Once

// registerBalancer registers the balancer with grpc-go once per process.
func registerBalancer() {
	registerOnce.Do(func() { balancer.Register(balancerBuilder{}) })
}

// pickState is what the resolver tells the balancer beside the addresses:
// the caller's preferences and how many endpoints each region and colour
// has in the registry (ready or not), the base of the failover fraction.
type pickState struct {
	service          string
	localRegion      string
	defaultColour    string
	minLocalFraction float64
	totals           map[groupKey]int
	metrics          *Metrics
	logger           *slog.Logger
}

type pickStateKey struct{}

type groupKey struct{ colour, region string }

// balancerBuilder builds one grpc-go base balancer per ClientConn with a
// picker builder of its own, which receives the resolver's pickState.
type balancerBuilder struct{}

func (balancerBuilder) Name() string { return BalancerName }

func (balancerBuilder) Build(cc balancer.ClientConn, opts balancer.BuildOptions) balancer.Balancer {
	pb := &pickerBuilder{failingOver: map[string]bool{}}
	return &regionBalancer{
		Balancer: base.NewBalancerBuilder(BalancerName, pb, base.Config{}).Build(cc, opts),
		pb:       pb,
	}
}

type regionBalancer struct {
	balancer.Balancer
	pb *pickerBuilder
}

func (b *regionBalancer) UpdateClientConnState(s balancer.ClientConnState) error {
	st, _ := s.ResolverState.Attributes.Value(pickStateKey{}).(*pickState)
	b.pb.setState(st)
	return b.Balancer.UpdateClientConnState(s)
}

// pickerBuilder turns the ready SubConns into a picker. grpc-go calls the
// balancer, hence Build, from one goroutine at a time; the mutex only
// guards against a future change of that.
type pickerBuilder struct {
	mu          sync.Mutex
	state       *pickState
	failingOver map[string]bool // colour -> the local region is failed over
}

func (pb *pickerBuilder) setState(st *pickState) {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	pb.state = st
}

func (pb *pickerBuilder) Build(info base.PickerBuildInfo) balancer.Picker {
	if len(info.ReadySCs) == 0 {
		return base.NewErrPicker(balancer.ErrNoSubConnAvailable)
	}
	pb.mu.Lock()
	defer pb.mu.Unlock()
	st := pb.state
	if st == nil {
		st = &pickState{defaultColour: DefaultColour}
	}
	byColour := map[string]map[string][]balancer.SubConn{}
	var all []readySC
	for sc, sci := range info.ReadySCs {
		ep, _ := EndpointFromAddress(sci.Address)
		all = append(all, readySC{sc: sc, addr: sci.Address.Addr, region: ep.Region, colour: ep.colour()})
	}
	// Map iteration order is random; sort so that round-robin order is
	// stable across rebuilds.
	slices.SortFunc(all, func(a, b readySC) int { return strings.Compare(a.addr, b.addr) })
	for _, r := range all {
		if byColour[r.colour] == nil {
			byColour[r.colour] = map[string][]balancer.SubConn{}
		}
		byColour[r.colour][r.region] = append(byColour[r.colour][r.region], r.sc)
	}
	p := &picker{local: st.localRegion}
	for colour, regions := range byColour {
		p.colours = append(p.colours, pb.colourRoutes(st, colour, regions))
	}
	slices.SortFunc(p.colours, func(a, b colourRoutes) int { return strings.Compare(a.name, b.name) })
	p.defaultIdx = -1
	for i, c := range p.colours {
		if c.name == st.defaultColour {
			p.defaultIdx = i
		}
	}
	anyColour := map[string][]balancer.SubConn{}
	for _, r := range all {
		anyColour[r.region] = append(anyColour[r.region], r.sc)
	}
	p.anyColour = pb.colourRoutes(st, "", anyColour)
	return p
}

type readySC struct {
	sc                   balancer.SubConn
	addr, region, colour string
}

// colourRoutes decides, once per picker, where the calls of one colour go
// for each preferred region: the region's own endpoints while it has
// enough ready ones, else every ready endpoint of the colour.
func (pb *pickerBuilder) colourRoutes(st *pickState, colour string, regions map[string][]balancer.SubConn) colourRoutes {
	cr := colourRoutes{name: colour}
	var everyone []balancer.SubConn
	for _, scs := range regions {
		everyone = append(everyone, scs...)
	}
	cr.all = &group{scs: everyone}
	for region, scs := range regions {
		target := &group{scs: scs}
		if region == "" || !pb.enough(st, colour, region, len(scs)) {
			target = cr.all
		}
		cr.regions = append(cr.regions, regionRoute{name: region, target: target})
	}
	slices.SortFunc(cr.regions, func(a, b regionRoute) int { return strings.Compare(a.name, b.name) })
	cr.local = cr.all
	if st.localRegion != "" {
		for _, rr := range cr.regions {
			if rr.name == st.localRegion {
				cr.local = rr.target
			}
		}
	}
	if colour != "" && st.localRegion != "" {
		pb.noteFailover(st, colour, cr.local == cr.all)
	}
	return cr
}

// enough reports whether ready endpoints of region, out of the registry's
// total for the colour and region, keep calls in the region.
func (pb *pickerBuilder) enough(st *pickState, colour, region string, ready int) bool {
	if ready == 0 {
		return false
	}
	if st.minLocalFraction == 0 {
		return true
	}
	total := st.totals[groupKey{colour: colour, region: region}]
	if total == 0 {
		return true
	}
	return float64(ready)/float64(total) >= st.minLocalFraction
}

// noteFailover counts the moments a colour starts leaving the local region.
// The first picker of a colour only sets the state: while connections come
// up one by one a far endpoint may be ready first, which is start-up, not
// a failover.
func (pb *pickerBuilder) noteFailover(st *pickState, colour string, failing bool) {
	was, seen := pb.failingOver[colour]
	pb.failingOver[colour] = failing
	if !seen || was == failing {
		return
	}
	if st.logger != nil {
		st.logger.Info("discovery: local region failover", "region", st.localRegion, "colour", colour, "failing_over", failing)
	}
	if failing && st.metrics != nil {
		st.metrics.failovers.WithLabelValues(st.service, st.localRegion, colour).Inc()
	}
}

// group is a set of SubConns picked round robin. The counter sits on a
// cache line of its own, so that picks on other cores updating it do not
// evict the read-only slice header every pick reads.
type group struct {
	scs  []balancer.SubConn
	_    [64]byte
	next atomic.Uint32
	_    [60]byte
}

func (g *group) pick() balancer.SubConn {
	return g.scs[(g.next.Add(1)-1)%uint32(len(g.scs))]
}

type regionRoute struct {
	name   string
	target *group
}

type colourRoutes struct {
	name    string
	regions []regionRoute
	local   *group // where calls preferring the caller's region go
	all     *group
}

func (c *colourRoutes) route(region string) *group {
	for i := range c.regions {
		if c.regions[i].name == region {
			return c.regions[i].target
		}
	}
	return c.all
}

// picker routes a call to its colour (falling back to the default colour,
// then to any) and, within it, to its preferred region (the caller's own
// unless the call names one), round robin. It allocates nothing.
type picker struct {
	local      string
	colours    []colourRoutes
	defaultIdx int
	anyColour  colourRoutes
}

func (p *picker) Pick(info balancer.PickInfo) (balancer.PickResult, error) {
	r := RouteFrom(info.Ctx)
	c := p.colour(r.Colour)
	var g *group
	if r.Region == "" || r.Region == p.local {
		g = c.local
	} else {
		g = c.route(r.Region)
	}
	return balancer.PickResult{SubConn: g.pick()}, nil
}

func (p *picker) colour(name string) *colourRoutes {
	if name != "" {
		for i := range p.colours {
			if p.colours[i].name == name {
				return &p.colours[i]
			}
		}
	}
	if p.defaultIdx >= 0 {
		return &p.colours[p.defaultIdx]
	}
	return &p.anyColour
}
