package dns

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"google.golang.org/grpc/resolver"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
	"github.com/govkit/govern/runtime/discovery"
	"github.com/govkit/govern/runtime/discovery/discoverytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// answer modes of the test server.
const (
	modeGood = iota
	modeTruncated
	modeShort
	modeMalformed
	modeNXDomain
	modeEmpty
	modeTTL0
)

// fakeDNS is a real miekg/dns server on loopback (UDP and TCP on one port)
// serving SRV records the way mode says.
type fakeDNS struct {
	addr    string
	mode    atomic.Int32
	ttl     atomic.Uint32
	tcp     atomic.Int32 // SRV questions received over TCP
	mu      sync.Mutex
	targets []srvTarget
	servers []*mdns.Server
}

type srvTarget struct {
	name string
	ip   string
	port uint16
}

func startDNS(t testing.TB) *fakeDNS {
	t.Helper()
	f := &fakeDNS{}
	f.ttl.Store(30)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	f.addr = pc.LocalAddr().String()
	h := mdns.HandlerFunc(f.serve)
	for _, s := range []*mdns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		f.servers = append(f.servers, s)
		go func() { _ = s.ActivateAndServe() }()
		<-started
	}
	t.Cleanup(func() {
		for _, s := range f.servers {
			_ = s.Shutdown()
		}
	})
	return f
}

func (f *fakeDNS) set(targets ...srvTarget) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.targets = targets
}

func (f *fakeDNS) serve(w mdns.ResponseWriter, req *mdns.Msg) {
	overTCP := w.LocalAddr().Network() == "tcp"
	m := new(mdns.Msg)
	m.SetReply(req)
	q := req.Question[0]
	f.mu.Lock()
	targets := f.targets
	f.mu.Unlock()
	if q.Qtype == mdns.TypeA {
		for _, tg := range targets {
			if strings.EqualFold(tg.name, q.Name) {
				m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 30}, A: net.ParseIP(tg.ip)})
			}
		}
		_ = w.WriteMsg(m)
		return
	}
	if overTCP {
		f.tcp.Add(1)
	}
	ttl := f.ttl.Load()
	mode := f.mode.Load()
	if mode == modeTTL0 {
		ttl = 0
	}
	for i, tg := range targets {
		m.Answer = append(m.Answer, &mdns.SRV{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeSRV, Class: mdns.ClassINET, Ttl: ttl},
			Priority: 1, Weight: 10, Port: tg.port, Target: tg.name})
		if i%2 == 0 { // half the addresses come in the additional section
			m.Extra = append(m.Extra, &mdns.A{Hdr: mdns.RR_Header{Name: tg.name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: ttl}, A: net.ParseIP(tg.ip)})
		}
	}
	switch mode {
	case modeTruncated:
		if !overTCP {
			m.Truncated = true
			m.Answer, m.Extra = m.Answer[:0], nil
		}
	case modeShort:
		_, _ = w.Write([]byte{0x12, 0x34, 0x81})
		return
	case modeMalformed:
		raw, err := m.Pack()
		if err != nil {
			panic(err)
		}
		_, _ = w.Write(corruptFirstRDLength(raw, len(q.Name)))
		return
	case modeNXDomain:
		m.Rcode, m.Answer, m.Extra = mdns.RcodeNameError, nil, nil
	case modeEmpty:
		m.Answer, m.Extra = nil, nil
	}
	_ = w.WriteMsg(m)
}

// corruptFirstRDLength makes the first answer's RDATA claim more bytes than
// the message has: header (12) + question (name + root + 4) + answer name
// (a compression pointer, 2) + type, class, ttl (8) put RDLENGTH at this
// offset.
func corruptFirstRDLength(raw []byte, qnameLen int) []byte {
	off := 12 + qnameLen + 1 + 4 + 2 + 8
	out := append([]byte(nil), raw...)
	if off+1 < len(out) {
		out[off], out[off+1] = 0xff, 0xf0
	}
	return out
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newRegistry(t testing.TB, f *fakeDNS, opts ...Option) (*Registry, *prometheus.Registry) {
	t.Helper()
	metrics := prometheus.NewRegistry()
	r, err := NewRegistry(f.addr, append([]Option{WithRegisterer(metrics), WithLogger(quiet), WithTimeout(500 * time.Millisecond), WithRegion("us-west-2")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r, metrics
}

func addrs(eps []discovery.Endpoint) string {
	var s []string
	for _, ep := range eps {
		s = append(s, ep.Addr)
	}
	return strings.Join(s, ",")
}

func TestBadAnswers(t *testing.T) {
	f := startDNS(t)
	f.set(srvTarget{"a.inventory.test.", "127.0.0.2", 7001}, srvTarget{"b.inventory.test.", "127.0.0.3", 7002})
	now := time.Unix(1_000_000, 0)
	r, metrics := newRegistry(t, f, WithMaxStale(time.Minute))
	r.cfg.now = func() time.Time { return now }
	ctx := t.Context()
	const want = "127.0.0.2:7001,127.0.0.3:7002"

	eps, ttl, err := r.Resolve(ctx, "inventory")
	if err != nil || addrs(eps) != want || ttl != 30*time.Second || eps[0].Region != "us-west-2" {
		t.Fatalf("good answer: %v, %v, %v; want %s with TTL 30s in us-west-2", eps, ttl, err, want)
	}

	f.mode.Store(modeTruncated)
	eps, _, err = r.Resolve(ctx, "inventory")
	if err != nil || addrs(eps) != want || f.tcp.Load() == 0 {
		t.Fatalf("truncated UDP answer: %v, %v (TCP questions %d); want the TCP answer %s", addrs(eps), err, f.tcp.Load(), want)
	}

	for _, mode := range []int32{modeShort, modeMalformed} {
		f.mode.Store(mode)
		if eps, _, err := r.Resolve(ctx, "inventory"); err == nil {
			t.Errorf("mode %d: Resolve = %v, nil; want the reply rejected", mode, eps)
		}
	}

	for _, tc := range []struct {
		mode int32
		kind string
	}{{modeNXDomain, "nxdomain"}, {modeEmpty, "empty"}} {
		f.mode.Store(tc.mode)
		eps, _, err = r.Resolve(ctx, "inventory")
		if err != nil || addrs(eps) != want {
			t.Fatalf("%s for a name that had records: %v, %v; want the last good set", tc.kind, addrs(eps), err)
		}
		if n := discoverytest.MetricSum(t, metrics, "govern_discovery_dns_bogus_answers_total", map[string]string{"kind": tc.kind}); n != 1 {
			t.Errorf("bogus %s answers counted %v, want 1", tc.kind, n)
		}
	}
	now = now.Add(time.Minute)
	if eps, _, err = r.Resolve(ctx, "inventory"); err != nil || len(eps) != 0 {
		t.Fatalf("empty for longer than the stale limit: %v, %v; want the empty answer believed", addrs(eps), err)
	}

	f.mode.Store(modeTTL0)
	if _, ttl, err = r.Resolve(ctx, "inventory"); err != nil || ttl != DefaultMinTTL {
		t.Fatalf("TTL 0: re-resolve after %v (%v); want the floor %v", ttl, err, DefaultMinTTL)
	}
}

func TestResolverSurvivesBadAnswers(t *testing.T) {
	near := discoverytest.Start(t, "127.0.0.2")
	f := startDNS(t)
	host, port, _ := net.SplitHostPort(near.Addr)
	p, _ := net.LookupPort("tcp", port)
	f.set(srvTarget{"near.inventory.test.", host, uint16(p)})
	f.ttl.Store(0)
	r, _ := newRegistry(t, f, WithMinTTL(50*time.Millisecond))
	conn := discoverytest.Dial(t, r, "inventory", discovery.WithLocalRegion("us-west-2"), discovery.WithoutProbing(), discovery.WithLogger(quiet),
		discovery.WithRetryBackoff(10*time.Millisecond, 50*time.Millisecond))
	call := func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		_, err := discoverytest.Who(ctx, conn)
		return err
	}
	if err := call(); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []int32{modeShort, modeMalformed, modeNXDomain, modeEmpty, modeTruncated, modeTTL0} {
		f.mode.Store(mode)
		for range 5 { // several re-resolutions at the 50ms floor
			if err := call(); err != nil {
				t.Fatalf("mode %d: a call failed: %v", mode, err)
			}
			time.Sleep(30 * time.Millisecond)
		}
	}
}

func TestBadConfigNamesTheFix(t *testing.T) {
	for _, tc := range []struct {
		server string
		opts   []Option
		want   string
	}{
		{"127.0.0.1", nil, "host:port"},
		{"127.0.0.1:53", []Option{WithMinTTL(0)}, "floor"},
		{"127.0.0.1:53", []Option{WithRegion("US")}, "region"},
	} {
		if _, err := NewRegistry(tc.server, tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewRegistry(%q): %v, want an error about %s", tc.server, err, tc.want)
		}
	}
}

// BenchmarkPropagation measures how long a changed SRV answer takes to
// reach a client's balancer over 100 changes, with records of TTL 0 and a
// 250ms re-resolution floor (the default floor is 1s; propagation through
// DNS is bounded by max(TTL, floor)):
//
//	go test -run '^$' -bench Propagation -benchtime 1x ./runtime/discovery/dns
func BenchmarkPropagation(b *testing.B) {
	f := startDNS(b)
	f.ttl.Store(0)
	f.set(srvTarget{"i0.inventory.test.", "127.0.0.2", 20000})
	r, _ := newRegistry(b, f, WithMinTTL(250*time.Millisecond))
	builder, err := discovery.NewBuilder(r, discovery.WithoutProbing(), discovery.WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		rec := discoverytest.NewStateRecorder()
		res, err := builder.Build(resolver.Target{URL: url.URL{Scheme: "govern", Path: "/inventory"}}, rec, resolver.BuildOptions{})
		if err != nil {
			b.Fatal(err)
		}
		var lat []time.Duration
		for i := 1; i <= 100; i++ {
			port := uint16(20000 + i)
			start := time.Now()
			f.set(srvTarget{"i0.inventory.test.", "127.0.0.2", port})
			at, ok := rec.WaitFor(net.JoinHostPort("127.0.0.2", strconv.Itoa(int(port))), 10*time.Second)
			if !ok {
				b.Fatalf("port %d never reached the balancer", port)
			}
			lat = append(lat, at.Sub(start))
		}
		res.Close()
		p50, p99 := discoverytest.Percentiles(lat)
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	}
}
