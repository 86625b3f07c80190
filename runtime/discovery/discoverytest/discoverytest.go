// Package discoverytest holds the test servers the discovery packages share:
// gRPC servers on chosen loopback addresses that report grpc.health.v1 and
// answer one method with their own address, so that a test sees where the
// balancer sent a call.
package discoverytest

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// WhoMethod is the full method every test server answers with its address
// in the ServedByHeader response header.
const (
	WhoMethod      = "/govern.discoverytest.Echo/Who"
	ServedByHeader = "x-served-by"
)

// Server is one test instance.
type Server struct {
	Addr    string
	health  *health.Server
	grpc    *grpc.Server
	failing atomic.Bool
}

// Start serves on host (such as 127.0.0.2) on a free port until the test
// ends. It skips the test when host cannot be bound.
func Start(t testing.TB, host string) *Server {
	t.Helper()
	s, err := NewServer(host)
	if err != nil {
		t.Skipf("cannot listen on %s (loopback aliases 127.0.0.2+ are needed): %v", host, err)
	}
	t.Cleanup(s.Stop)
	return s
}

// NewServer serves on host on a free port until Stop.
func NewServer(host string) (*Server, error) {
	lis, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: lis.Addr().String(), health: health.NewServer()}
	s.grpc = grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		var in emptypb.Empty
		if err := stream.RecvMsg(&in); err != nil {
			return err
		}
		if s.failing.Load() {
			return status.Error(codes.Unavailable, "browning out")
		}
		if err := stream.SendHeader(metadata.Pairs(ServedByHeader, s.Addr)); err != nil {
			return err
		}
		return stream.SendMsg(&emptypb.Empty{})
	}))
	healthpb.RegisterHealthServer(s.grpc, s.health)
	go func() { _ = s.grpc.Serve(lis) }()
	return s, nil
}

// SetFailing makes every WhoMethod call fail with UNAVAILABLE (a brownout)
// while the health status stays what SetServing says.
func (s *Server) SetFailing(failing bool) { s.failing.Store(failing) }

// SetServing sets the server's overall grpc.health.v1 status.
func (s *Server) SetServing(serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus("", st)
}

// Stop stops the server at once.
func (s *Server) Stop() { s.grpc.Stop() }

// Who calls WhoMethod on conn and returns the address of the server that
// answered.
func Who(ctx context.Context, conn grpc.ClientConnInterface) (string, error) {
	var md metadata.MD
	if err := conn.Invoke(ctx, WhoMethod, &emptypb.Empty{}, &emptypb.Empty{}, grpc.Header(&md)); err != nil {
		return "", err
	}
	if v := md.Get(ServedByHeader); len(v) > 0 {
		return v[0], nil
	}
	return "", nil
}
