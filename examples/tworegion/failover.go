package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/govkit/govern/runtime/discovery"
	"github.com/govkit/govern/runtime/discovery/discoverytest"
)

// FailoverConfig is one run of the failover experiment (-failover): a
// client in us-west-2 dials govern:///inventory; two instances serve in
// us-west-2 on 127.0.0.2 and two in eu-west-1 on 127.0.0.3 behind a proxy
// that adds FarRTT; from BrownoutAt for BrownoutFor the local instances
// fail every call with UNAVAILABLE and report NOT_SERVING.
type FailoverConfig struct {
	Duration                    time.Duration
	BrownoutAt, BrownoutFor     time.Duration
	Rate                        float64
	FarRTT                      time.Duration
	ProbeInterval, ProbeTimeout time.Duration
	// ProbeThreshold is discovery.WithProbeThreshold (0 means 1).
	ProbeThreshold int
}

// DefaultFailoverConfig is the run docs/discovery.md reports. The
// brownout starts 300ms after a probe (probes run every 500ms from the
// client's start), so the failover time shows the probe's detection delay
// rather than a lucky phase.
func DefaultFailoverConfig() FailoverConfig {
	return FailoverConfig{Duration: 9 * time.Second, BrownoutAt: 3300 * time.Millisecond, BrownoutFor: 3 * time.Second,
		Rate: 200, FarRTT: 100 * time.Millisecond, ProbeInterval: 500 * time.Millisecond, ProbeTimeout: 200 * time.Millisecond}
}

// FailoverResult is what the client saw.
type FailoverResult struct {
	Calls, Errors, Local int
	// LocalShareOutside is the share of successful calls served in the
	// local region outside the brownout.
	LocalShareOutside float64
	// ErrorRateBrownout is the share of calls started during the brownout
	// that failed.
	ErrorRate, ErrorRateBrownout float64
	// FailoverAfter: from the brownout's start to the first far success
	// after which no call failed; ReturnAfter: from its end to the first
	// local success.
	FailoverAfter, ReturnAfter time.Duration
}

type sample struct {
	at    time.Duration
	local bool
	err   bool
}

// RunFailover runs the failover experiment.
func RunFailover(ctx context.Context, cfg FailoverConfig) (FailoverResult, error) {
	var local, far []*discoverytest.Server
	var proxies []*discoverytest.Proxy
	defer func() {
		for _, s := range append(local, far...) {
			s.Stop()
		}
		for _, p := range proxies {
			_ = p.Close()
		}
	}()
	reg := discovery.NewMemoryRegistry()
	var eps []discovery.Endpoint
	for range 2 {
		s, err := discoverytest.NewServer("127.0.0.2")
		if err != nil {
			return FailoverResult{}, fmt.Errorf("serving on 127.0.0.2 (a loopback alias): %w", err)
		}
		local = append(local, s)
		eps = append(eps, discovery.Endpoint{Addr: s.Addr, Region: "us-west-2"})
		s2, err := discoverytest.NewServer("127.0.0.3")
		if err != nil {
			return FailoverResult{}, fmt.Errorf("serving on 127.0.0.3 (a loopback alias): %w", err)
		}
		far = append(far, s2)
		p, err := discoverytest.NewProxy("127.0.0.3", s2.Addr)
		if err != nil {
			return FailoverResult{}, err
		}
		p.SetDelay(cfg.FarRTT / 2)
		proxies = append(proxies, p)
		eps = append(eps, discovery.Endpoint{Addr: p.Addr, Region: "eu-west-1"})
	}
	reg.Set("inventory", eps...)
	b, err := discovery.NewBuilder(reg, discovery.WithLocalRegion("us-west-2"),
		discovery.WithProbe(cfg.ProbeInterval, cfg.ProbeTimeout),
		discovery.WithProbeThreshold(max(cfg.ProbeThreshold, 1)),
		discovery.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return FailoverResult{}, err
	}
	conn, err := grpc.NewClient("govern:///inventory", append(b.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		return FailoverResult{}, err
	}
	defer conn.Close()
	isLocal := map[string]bool{local[0].Addr: true, local[1].Addr: true}

	start := time.Now()
	brownout := func(on bool) {
		for _, s := range local {
			s.SetFailing(on)
			s.SetServing(!on)
		}
	}
	timers := []*time.Timer{
		time.AfterFunc(cfg.BrownoutAt, func() { brownout(true) }),
		time.AfterFunc(cfg.BrownoutAt+cfg.BrownoutFor, func() { brownout(false) }),
	}
	defer func() {
		for _, t := range timers {
			t.Stop()
		}
	}()
	var mu sync.Mutex
	var samples []sample
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for time.Since(start) < cfg.Duration && ctx.Err() == nil {
		<-tick.C
		at := time.Since(start)
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			addr, err := discoverytest.Who(cctx, conn)
			mu.Lock()
			samples = append(samples, sample{at: at, local: isLocal[addr], err: err != nil})
			mu.Unlock()
		})
	}
	wg.Wait()
	return summarize(samples, cfg), nil
}

func summarize(samples []sample, cfg FailoverConfig) FailoverResult {
	var r FailoverResult
	bStart, bEnd := cfg.BrownoutAt, cfg.BrownoutAt+cfg.BrownoutFor
	var okOutside, localOutside, inBrownout, errBrownout int
	lastErrInBrownout := time.Duration(-1)
	for _, s := range samples {
		r.Calls++
		during := s.at >= bStart && s.at < bEnd
		if during {
			inBrownout++
		}
		if s.err {
			r.Errors++
			if during {
				errBrownout++
				lastErrInBrownout = max(lastErrInBrownout, s.at)
			}
			continue
		}
		if s.local {
			r.Local++
		}
		if !during {
			okOutside++
			if s.local {
				localOutside++
			}
		}
		if s.local && s.at >= bEnd && (r.ReturnAfter == 0 || s.at-bEnd < r.ReturnAfter) {
			r.ReturnAfter = s.at - bEnd
		}
	}
	if lastErrInBrownout >= 0 {
		r.FailoverAfter = lastErrInBrownout - bStart
	}
	if r.Calls > 0 {
		r.ErrorRate = float64(r.Errors) / float64(r.Calls)
	}
	if inBrownout > 0 {
		r.ErrorRateBrownout = float64(errBrownout) / float64(inBrownout)
	}
	if okOutside > 0 {
		r.LocalShareOutside = float64(localOutside) / float64(okOutside)
	}
	return r
}

// PrintFailover writes the result.
func PrintFailover(w io.Writer, cfg FailoverConfig, r FailoverResult) {
	fmt.Fprintf(w, "calls %d at %.0f/s, brownout of the local region from %v for %v, far RTT %v, probe %v/%v\n",
		r.Calls, cfg.Rate, cfg.BrownoutAt, cfg.BrownoutFor, cfg.FarRTT, cfg.ProbeInterval, cfg.ProbeTimeout)
	fmt.Fprintf(w, "local share outside the brownout  %.1f%%\n", 100*r.LocalShareOutside)
	fmt.Fprintf(w, "failover time (last failed call)  %v\n", r.FailoverAfter.Round(time.Millisecond))
	fmt.Fprintf(w, "return time (first local call)    %v\n", r.ReturnAfter.Round(time.Millisecond))
	fmt.Fprintf(w, "error rate: run %.2f%%, brownout %.2f%%\n", 100*r.ErrorRate, 100*r.ErrorRateBrownout)
}
