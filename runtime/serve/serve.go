package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/govkit/govern/runtime/health"
	"github.com/govkit/govern/runtime/logging"
)

// Defaults of Run's shutdown sequence.
const (
	// DefaultDrainDelay is how long readiness is false before listeners
	// close; it should exceed the readiness probe period of the platform.
	DefaultDrainDelay = 5 * time.Second
	// DefaultShutdownTimeout bounds the graceful drain of in-flight calls.
	DefaultShutdownTimeout = 20 * time.Second
)

// SignalContext returns a context cancelled on SIGTERM or SIGINT, the
// signals a platform sends to stop a replica. Call stop to release the
// signal handler.
func SignalContext(parent context.Context) (ctx context.Context, stop context.CancelFunc) {
	return signal.NotifyContext(parent, syscall.SIGTERM, os.Interrupt)
}

// Option configures a Server.
type Option func(*Server)

// WithGRPC serves srv on lis.
func WithGRPC(lis net.Listener, srv *grpc.Server) Option {
	return func(s *Server) { s.grpcs = append(s.grpcs, grpcListener{lis: lis, srv: srv}) }
}

// WithHTTP serves srv (build it with NewHTTPServer) on lis; name labels the
// listener in logs ("gateway", "admin").
func WithHTTP(name string, lis net.Listener, srv *http.Server) Option {
	return func(s *Server) { s.https = append(s.https, httpListener{name: name, lis: lis, srv: srv}) }
}

// WithChecks is the registry whose readiness is flipped when shutdown
// starts. Pass the one the admin handler and the gRPC health server use.
func WithChecks(checks *health.Checks) Option { return func(s *Server) { s.checks = checks } }

// WithGRPCHealth runs the health server's poll loop for as long as Run runs,
// and reports NOT_SERVING through it when shutdown starts. Without
// WithChecks, its registry is the one flipped.
func WithGRPCHealth(hs *health.GRPCServer) Option { return func(s *Server) { s.grpcHealth = hs } }

// WithDrainDelay sets how long readiness is false before listeners close
// (default DefaultDrainDelay; 0 closes at once, for tests and CLIs).
func WithDrainDelay(d time.Duration) Option {
	return func(s *Server) { s.drainDelay = max(d, 0) }
}

// WithShutdownTimeout bounds the graceful drain (default
// DefaultShutdownTimeout); connections still busy after it are closed.
func WithShutdownTimeout(d time.Duration) Option {
	return func(s *Server) {
		if d > 0 {
			s.shutdownTimeout = d
		}
	}
}

// WithLogger logs the lifecycle (listening, draining, stopped) to l. Pass
// the process logger, the one given to governance.WithLogger, so every line
// of the process has one format. Default: runtime/logging's JSON logger on
// stderr, the governor's default too (never slog.Default(), whose text
// lines would sit between the governor's JSON ones).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

type grpcListener struct {
	lis net.Listener
	srv *grpc.Server
}

type httpListener struct {
	name string
	lis  net.Listener
	srv  *http.Server
}

// Server runs a set of listeners with an ordered graceful shutdown.
type Server struct {
	grpcs           []grpcListener
	https           []httpListener
	checks          *health.Checks
	grpcHealth      *health.GRPCServer
	drainDelay      time.Duration
	shutdownTimeout time.Duration
	log             *slog.Logger
	hooks           []shutdownHook
}

// New returns a Server; Run starts it.
func New(opts ...Option) *Server {
	s := &Server{drainDelay: DefaultDrainDelay, shutdownTimeout: DefaultShutdownTimeout}
	for _, opt := range opts {
		opt(s)
	}
	if s.log == nil {
		s.log = logging.New(os.Stderr, slog.LevelInfo)
	}
	if s.checks == nil && s.grpcHealth != nil {
		s.checks = s.grpcHealth.Checks()
	}
	return s
}

func (s *Server) validate() error {
	var problems []error
	if len(s.grpcs)+len(s.https) == 0 {
		problems = append(problems, errors.New("serve: nothing to serve: add WithGRPC or WithHTTP"))
	}
	for i, g := range s.grpcs {
		if g.lis == nil || g.srv == nil {
			problems = append(problems, fmt.Errorf("serve: gRPC listener %d needs both a net.Listener and a *grpc.Server", i))
		}
	}
	for _, h := range s.https {
		switch {
		case h.lis == nil || h.srv == nil:
			problems = append(problems, fmt.Errorf("serve: HTTP listener %q needs both a net.Listener and an *http.Server", h.name))
		case h.srv.Handler == nil:
			problems = append(problems, fmt.Errorf("serve: HTTP listener %q has a nil Handler, which serves http.DefaultServeMux: build it with serve.NewHTTPServer(handler)", h.name))
		case h.srv.ReadHeaderTimeout <= 0 && h.srv.ReadTimeout <= 0:
			problems = append(problems, fmt.Errorf("serve: HTTP listener %q has no read timeouts, so slow clients can hold it open: build it with serve.NewHTTPServer", h.name))
		}
	}
	return errors.Join(problems...)
}

// Run serves every listener until ctx ends (SignalContext ends it on
// SIGTERM) or a listener fails, then shuts down in order: readiness false,
// drain delay, listeners closed with in-flight calls drained. It returns nil
// after a requested shutdown, or the error that stopped a listener (joined
// with any error of an expired drain).
func (s *Server) Run(ctx context.Context) error {
	if err := s.validate(); err != nil {
		return err
	}
	n := len(s.grpcs) + len(s.https)
	serveErrs := make(chan error, n)
	var serving sync.WaitGroup
	for _, g := range s.grpcs {
		s.log.Info("serving gRPC", "addr", g.lis.Addr().String())
		serving.Go(func() {
			if err := g.srv.Serve(g.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				serveErrs <- fmt.Errorf("serve: gRPC listener %s: %w", g.lis.Addr(), err)
			}
		})
	}
	for _, h := range s.https {
		s.log.Info("serving HTTP", "listener", h.name, "addr", h.lis.Addr().String())
		serving.Go(func() {
			if err := h.srv.Serve(h.lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErrs <- fmt.Errorf("serve: HTTP listener %q on %s: %w", h.name, h.lis.Addr(), err)
			}
		})
	}
	healthCtx, stopHealth := context.WithCancel(context.WithoutCancel(ctx))
	var background sync.WaitGroup
	if s.grpcHealth != nil {
		background.Go(func() { _ = s.grpcHealth.Run(healthCtx) })
	}

	var cause error
	select {
	case <-ctx.Done():
		s.log.Info("shutdown requested", "cause", context.Cause(ctx))
	case cause = <-serveErrs:
		s.log.Error("listener failed, shutting down", "error", cause)
	}

	shutdownErr := s.shutdown()
	stopHealth()
	background.Wait()
	serving.Wait()
	close(serveErrs)
	for err := range serveErrs {
		cause = errors.Join(cause, err)
	}
	return errors.Join(cause, shutdownErr)
}

// shutdown runs the ordered sequence; it returns an error when the drain
// timed out and connections were cut.
func (s *Server) shutdown() error {
	// 1. Not ready, while every listener still accepts.
	if s.checks != nil {
		s.checks.Shutdown()
	}
	if s.grpcHealth != nil {
		s.grpcHealth.Shutdown()
	}
	// 1b. Deregister from discovery (WithShutdownHook).
	s.runHooks()
	// 2. Let balancers notice.
	if s.drainDelay > 0 {
		s.log.Info("readiness false, draining before closing listeners", "drain_delay", s.drainDelay)
		timer := time.NewTimer(s.drainDelay)
		<-timer.C
		timer.Stop()
	}
	// 3. Close listeners and drain in-flight calls, all at once.
	ctx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(s.grpcs)+len(s.https))
	for _, h := range s.https {
		wg.Go(func() {
			if err := h.srv.Shutdown(ctx); err != nil {
				_ = h.srv.Close()
				errs <- fmt.Errorf("serve: HTTP listener %q did not drain within %v, connections closed: %w", h.name, s.shutdownTimeout, err)
			}
		})
	}
	for _, g := range s.grpcs {
		wg.Go(func() {
			stopped := make(chan struct{})
			go func() {
				g.srv.GracefulStop()
				close(stopped)
			}()
			select {
			case <-stopped:
			case <-ctx.Done():
				g.srv.Stop()
				<-stopped
				errs <- fmt.Errorf("serve: gRPC listener %s did not drain within %v (long-lived streams such as health Watch keep it open), connections closed: %w", g.lis.Addr(), s.shutdownTimeout, ctx.Err())
			}
		})
	}
	wg.Wait()
	close(errs)
	var joined error
	for err := range errs {
		joined = errors.Join(joined, err)
	}
	s.log.Info("stopped")
	return joined
}
