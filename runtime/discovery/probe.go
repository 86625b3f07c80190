package discovery

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Probe states of an endpoint.
const (
	stateUnknown   = "unknown"
	stateHealthy   = "healthy"
	stateUnhealthy = "unhealthy"
)

// prober checks one endpoint through grpc.health.v1 Check every interval,
// on a connection of its own, and reports each change of verdict.
type prober struct {
	cancel context.CancelFunc
	done   chan struct{}
}

type probeConfig struct {
	interval, timeout time.Duration
	service           string
	dialOptions       []grpc.DialOption
	// threshold is how many failed probes in a row make a healthy endpoint
	// unhealthy.
	threshold int
}

// startProber probes addr until stop; report is called with true or false
// (and a context that ends with the prober, to bound a blocked report)
// whenever the verdict changes, the first verdict included. An endpoint that
// does not implement grpc.health.v1 counts as healthy, as in grpc-go's own
// client-side health checking.
func startProber(addr string, cfg probeConfig, report func(ctx context.Context, healthy bool)) *prober {
	ctx, cancel := context.WithCancel(context.Background())
	p := &prober{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		conn, err := grpc.NewClient("passthrough:///"+addr, cfg.dialOptions...)
		if err != nil {
			// Only a bad dial option fails here; the endpoint cannot be
			// reached with them, so it is unhealthy for good.
			report(ctx, false)
			return
		}
		defer conn.Close()
		client := healthpb.NewHealthClient(conn)
		t := time.NewTicker(cfg.interval)
		defer t.Stop()
		last, first := false, true
		failures := 0
		for {
			healthy := check(ctx, conn, client, cfg)
			if ctx.Err() != nil {
				return
			}
			if healthy {
				failures = 0
			} else if failures++; failures < cfg.threshold && !first {
				healthy = last // not enough failures in a row yet
			}
			if first || healthy != last {
				report(ctx, healthy)
				first, last = false, healthy
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// check runs one probe. Connecting gets a budget of its own (one interval):
// the timeout bounds the health RPC, as the field guide's 800 ms does, not
// the TCP and HTTP/2 handshakes of a fresh connection.
func check(ctx context.Context, conn *grpc.ClientConn, client healthpb.HealthClient, cfg probeConfig) bool {
	if !connected(ctx, conn, cfg.interval) {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: cfg.service}, grpc.WaitForReady(false))
	if status.Code(err) == codes.Unimplemented {
		return true
	}
	return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
}

// connected waits up to budget for conn to be ready, connecting it if idle.
func connected(ctx context.Context, conn *grpc.ClientConn, budget time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	for {
		s := conn.GetState()
		switch s {
		case connectivity.Ready:
			return true
		case connectivity.Idle:
			conn.Connect()
		}
		if !conn.WaitForStateChange(ctx, s) {
			return false
		}
	}
}

// stop ends the probing and waits for the prober's goroutine.
func (p *prober) stop() {
	p.cancel()
	<-p.done
}

// stopAll stops probers concurrently, so that closing a resolver with many
// endpoints does not wait for their probes one after the other.
func stopAll(ps []*prober) {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(p.stop)
	}
	wg.Wait()
}
