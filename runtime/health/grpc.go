package health

import (
	"context"
	"time"

	"google.golang.org/grpc"
	grpchealth "google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// DefaultPollInterval is how often a running GRPCServer re-evaluates the
// checks when nobody probes them over HTTP.
const DefaultPollInterval = 5 * time.Second

// GRPCOption configures a GRPCServer.
type GRPCOption func(*GRPCServer)

// WithServices names the gRPC services (full names, "order.v1.OrderService")
// whose health is reported besides the overall "" entry. Every service
// reports the same readiness: they share the process and its dependencies.
func WithServices(names ...string) GRPCOption {
	return func(s *GRPCServer) { s.services = append(s.services, names...) }
}

// WithPollInterval sets how often Run re-evaluates the checks.
func WithPollInterval(d time.Duration) GRPCOption {
	return func(s *GRPCServer) {
		if d > 0 {
			s.interval = d
		}
	}
}

// GRPCServer is a grpc.health.v1 Health service whose status comes from a
// Checks registry: SERVING while readiness passes, NOT_SERVING otherwise.
// Status changes are pushed to Watch streams as soon as any readiness
// evaluation (an HTTP probe, the poll loop, Shutdown) observes them.
type GRPCServer struct {
	checks   *Checks
	server   *grpchealth.Server
	services []string
	interval time.Duration
	unsub    func()
}

// NewGRPCServer returns a health server fed by checks. Every service starts
// NOT_SERVING until the first readiness evaluation; call Run (runtime/serve
// does) to evaluate at once and then every poll interval.
func NewGRPCServer(checks *Checks, opts ...GRPCOption) *GRPCServer {
	s := &GRPCServer{checks: checks, server: grpchealth.NewServer(), interval: DefaultPollInterval}
	for _, opt := range opts {
		opt(s)
	}
	s.apply(healthpb.HealthCheckResponse_NOT_SERVING)
	s.unsub = checks.Subscribe(s.observe)
	return s
}

// Register adds the Health service to a gRPC server.
func (s *GRPCServer) Register(registrar grpc.ServiceRegistrar) {
	healthgrpc.RegisterHealthServer(registrar, s.server)
}

// Server returns the underlying grpc-go health server, for callers that
// register it themselves.
func (s *GRPCServer) Server() healthgrpc.HealthServer { return s.server }

// Checks returns the registry the server reports from.
func (s *GRPCServer) Checks() *Checks { return s.checks }

// Run evaluates readiness now and then every poll interval until ctx is
// done. It returns ctx's error.
func (s *GRPCServer) Run(ctx context.Context) error {
	s.checks.Readiness(ctx)
	ticker := time.NewTicker(s.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
			s.checks.Readiness(ctx)
		}
	}
}

// Shutdown reports NOT_SERVING for every service from now on (Watch streams
// are told at once) and stops following the checks. Checks.Shutdown calls
// it implicitly through the subscription; calling it twice is harmless.
func (s *GRPCServer) Shutdown() {
	s.unsub()
	s.server.Shutdown()
}

func (s *GRPCServer) observe(rep Report) {
	if rep.ShuttingDown {
		// grpc-go's Shutdown sets NOT_SERVING everywhere and ignores later
		// updates, which is exactly the draining contract.
		s.server.Shutdown()
		return
	}
	if rep.OK {
		s.apply(healthpb.HealthCheckResponse_SERVING)
	} else {
		s.apply(healthpb.HealthCheckResponse_NOT_SERVING)
	}
}

func (s *GRPCServer) apply(st healthpb.HealthCheckResponse_ServingStatus) {
	// SetServingStatus only notifies watchers when the status changes.
	s.server.SetServingStatus("", st)
	for _, name := range s.services {
		s.server.SetServingStatus(name, st)
	}
}
