// Command tworegion is the two-region retry experiment of docs/client.md.
//
// One client calls a near server (2 ms RTT, 5% random UNAVAILABLE) and a far
// one (200 ms injected RTT, 5% random UNAVAILABLE, plus a brownout: the first
// 1.2 s of every 3 s every attempt fails) with one retry policy (4 attempts,
// UNAVAILABLE, multiplier 2, max backoff 1 s) in four modes:
//
//   - fixed-10ms: gRPC's native exponential backoff from 10 ms, the value
//     that suits the near region;
//   - fixed-200ms: the same from 200 ms, the value that suits the far one;
//   - adaptive-20ms: govern's RTT-adaptive backoff from 10 ms with the
//     policy's declared in-region baseline of 20 ms;
//   - adaptive-learned: the same with the baseline learned per target from
//     the first window.
//
// It prints, per mode and region, the success ratio, attempts per call and
// P50/P99 of the successful calls. Both servers listen on 127.0.0.1; the
// load is open-loop (a fixed arrival rate per region) and bounded by
// -duration per mode, so the run stops by itself (about 30 s by default).
//
//	go run ./examples/tworegion
//	go run ./examples/tworegion -duration 3s
//
// With -failover it runs the discovery experiment instead (failover.go):
// a client dials govern:///inventory through runtime/discovery, the local
// region browns out, and it prints the local share, the failover and
// return times and the error rate.
//
//	go run ./examples/tworegion -failover
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/client"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/retry/retrytest"
)

// Region is one simulated server and the load sent to it.
type Region struct {
	Name string
	// RTT is the latency injected into every attempt, failed or not.
	RTT time.Duration
	// FailureRatio is the share of attempts failing with UNAVAILABLE at random.
	FailureRatio float64
	// For BrownoutFor out of every BrownoutEvery (from the server's start)
	// every attempt fails with UNAVAILABLE. Zero BrownoutEvery: none.
	BrownoutEvery, BrownoutFor time.Duration
	// Rate is the arrival rate of logical calls, per second.
	Rate float64
}

// Mode is one way of retrying.
type Mode struct {
	Name string
	// Adaptive selects govern's adaptive interceptor instead of gRPC's
	// native retry.
	Adaptive bool
	// InitialBackoff of the policy.
	InitialBackoff time.Duration
	// RTTBaseline is the policy's declared baseline; zero learns it per
	// target from the first window.
	RTTBaseline time.Duration
}

// Modes are the modes the experiment compares.
var Modes = []Mode{
	{Name: "fixed-10ms", InitialBackoff: 10 * time.Millisecond},
	{Name: "fixed-200ms", InitialBackoff: 200 * time.Millisecond},
	{Name: "adaptive-20ms", Adaptive: true, InitialBackoff: 10 * time.Millisecond, RTTBaseline: 20 * time.Millisecond},
	{Name: "adaptive-learned", Adaptive: true, InitialBackoff: 10 * time.Millisecond},
}

// Config is one run of the experiment.
type Config struct {
	Regions  []Region
	Duration time.Duration
	// Retry is the policy of the called method; Mode sets Adaptive,
	// InitialBackoff and RTTBaseline.
	Retry    policy.Retry
	Deadline time.Duration
	Seed     uint64
	// BudgetTokens and BudgetRatio configure the retry budget of every mode
	// (gRPC's retryThrottling and govern's bucket alike). The default is
	// generous so that the backoff, not the budget, decides the outcome.
	BudgetTokens, BudgetRatio float64
}

// DefaultConfig is the run docs/client.md reports.
func DefaultConfig() Config {
	return Config{
		Regions: []Region{
			{Name: "near", RTT: 2 * time.Millisecond, FailureRatio: 0.05, Rate: 100},
			{Name: "far", RTT: 200 * time.Millisecond, FailureRatio: 0.05, Rate: 25,
				BrownoutEvery: 3 * time.Second, BrownoutFor: 1200 * time.Millisecond},
		},
		Duration: 6 * time.Second,
		Retry: policy.Retry{MaxAttempts: 4, MaxBackoff: time.Second, Multiplier: 2,
			Codes: []codes.Code{codes.Unavailable}},
		Deadline:     4 * time.Second,
		Seed:         1,
		BudgetTokens: 1000,
		BudgetRatio:  1,
	}
}

// Result is what one region saw in one mode.
type Result struct {
	Mode, Region    string
	Calls, OK       int
	Attempts        int
	P50, P99        time.Duration
	SuccessRatio    float64
	AttemptsPerCall float64

	order int // the region's index in Config.Regions
}

func main() {
	cfg := DefaultConfig()
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "load duration per mode (at most 30s)")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the scripted random failures")
	flag.Float64Var(&cfg.BudgetTokens, "budget-tokens", cfg.BudgetTokens, "retry budget max tokens (gRFC A6), every mode")
	flag.Float64Var(&cfg.BudgetRatio, "budget-ratio", cfg.BudgetRatio, "retry budget token ratio (gRFC A6), every mode")
	failover := flag.Bool("failover", false, "run the discovery failover experiment instead")
	flag.Parse()
	cfg.Duration = min(cfg.Duration, 30*time.Second)
	ctx := context.Background()
	if *failover {
		fcfg := DefaultFailoverConfig()
		r, err := RunFailover(ctx, fcfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tworegion:", err)
			os.Exit(1)
		}
		PrintFailover(os.Stdout, fcfg, r)
		return
	}
	var results []Result
	for _, mode := range Modes {
		rs, err := Run(ctx, cfg, mode)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tworegion:", err)
			os.Exit(1)
		}
		results = append(results, rs...)
	}
	Print(os.Stdout, results)
}

// Print writes results as a table.
func Print(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tregion\tcalls\tok\tattempts/call\tP50 ok\tP99 ok\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f%%\t%.2f\t%v\t%v\t\n", r.Mode, r.Region, r.Calls, 100*r.SuccessRatio,
			r.AttemptsPerCall, r.P50.Round(100*time.Microsecond), r.P99.Round(100*time.Microsecond))
	}
	_ = tw.Flush()
}

// Run serves the regions, drives the load through client.DialOptions with
// the retry policy in the given mode, and reports per region.
func Run(ctx context.Context, cfg Config, m Mode) ([]Result, error) {
	pol := cfg.Retry
	pol.Adaptive, pol.InitialBackoff, pol.RTTBaseline = m.Adaptive, m.InitialBackoff, m.RTTBaseline
	table := policy.Table{retrytest.Get: {FullMethod: retrytest.Get, Service: retrytest.Service, Name: "Get",
		IdempotencyLevel: policy.NoSideEffects, Retry: &pol}}
	dopts, err := client.DialOptions(table, client.WithRTTWindow(3*time.Second),
		client.WithRetryBudget(cfg.BudgetTokens, cfg.BudgetRatio))
	if err != nil {
		return nil, err
	}
	dopts = append(dopts, grpc.WithTransportCredentials(insecure.NewCredentials()))

	var results []Result
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, reg := range cfg.Regions {
		srv, err := startRegion(reg, cfg.Seed+uint64(i))
		if err != nil {
			return nil, err
		}
		defer srv.Close()
		cc, err := grpc.NewClient(srv.Addr, dopts...)
		if err != nil {
			return nil, err
		}
		defer cc.Close()
		wg.Go(func() {
			lat, calls := drive(ctx, cc, reg.Rate, cfg.Duration, cfg.Deadline)
			r := Result{Mode: m.Name, Region: reg.Name, Calls: calls, OK: len(lat), order: i,
				Attempts: srv.Attempts(retrytest.Get)}
			if calls > 0 {
				r.SuccessRatio = float64(r.OK) / float64(calls)
				r.AttemptsPerCall = float64(r.Attempts) / float64(calls)
			}
			r.P50, r.P99 = quantile(lat, 0.5), quantile(lat, 0.99)
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.SortFunc(results, func(a, b Result) int { return a.order - b.order })
	return results, nil
}

// startRegion serves a region's script: wait the RTT, then fail during a
// brownout or at random.
func startRegion(reg Region, seed uint64) (*retrytest.Server, error) {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	begin := time.Now()
	return retrytest.Start(func(ctx context.Context, _ retrytest.Attempt) (string, error) {
		arrived := time.Since(begin)
		t := time.NewTimer(reg.RTT)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return "", status.FromContextError(ctx.Err()).Err()
		}
		if reg.BrownoutEvery > 0 && arrived%reg.BrownoutEvery < reg.BrownoutFor {
			return "", status.Error(codes.Unavailable, "brownout")
		}
		mu.Lock()
		fail := rng.Float64() < reg.FailureRatio
		mu.Unlock()
		if fail {
			return "", status.Error(codes.Unavailable, "scripted failure")
		}
		return "ok", nil
	})
}

// drive sends rate×d calls, the i-th at i/rate seconds (open loop: a call
// starts on schedule whether or not earlier ones finished), and returns the
// latencies of the successful ones and the number of calls.
func drive(ctx context.Context, cc *grpc.ClientConn, rate float64, d, deadline time.Duration) ([]time.Duration, int) {
	interval := time.Duration(float64(time.Second) / rate)
	calls := int(rate * d.Seconds())
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range calls {
		if !sleepUntil(ctx, begin.Add(time.Duration(i)*interval)) {
			calls = i
			break
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, deadline)
			defer cancel()
			start := time.Now()
			if _, err := retrytest.Call(cctx, cc, retrytest.Get, "x"); err == nil {
				el := time.Since(start)
				mu.Lock()
				lat = append(lat, el)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return lat, calls
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// quantile is the nearest-rank q-quantile of lat.
func quantile(lat []time.Duration, q float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	i := int(float64(len(s))*q+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
