package health

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// startHealthServer serves hs on a loopback port and returns a client.
func startHealthServer(t *testing.T, hs *GRPCServer) healthgrpc.HealthClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs.Register(srv)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
	})
	return healthgrpc.NewHealthClient(conn)
}

func recvStatus(t *testing.T, stream healthgrpc.Health_WatchClient) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("Watch.Recv: %v", err)
	}
	return resp.GetStatus()
}

func TestGRPCWatchFollowsChecks(t *testing.T) {
	checks := New(WithCacheTTL(0))
	var failing atomic.Bool
	if err := checks.Register("db", func(context.Context) error {
		if failing.Load() {
			return errors.New("db down")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	hs := NewGRPCServer(checks, WithServices("order.v1.OrderService"))
	client := startHealthServer(t, hs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: "order.v1.OrderService"})
	if err != nil {
		t.Fatal(err)
	}
	if got := recvStatus(t, stream); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("status before first evaluation = %v, want NOT_SERVING", got)
	}

	checks.Readiness(ctx)
	if got := recvStatus(t, stream); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("status after passing checks = %v, want SERVING", got)
	}

	failing.Store(true)
	checks.Readiness(ctx) // e.g. an HTTP /readyz probe
	if got := recvStatus(t, stream); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("status after failing check = %v, want NOT_SERVING", got)
	}
	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Check(\"\") = %v, %v; want NOT_SERVING", resp, err)
	}

	failing.Store(false)
	checks.Readiness(ctx)
	if got := recvStatus(t, stream); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("status after recovery = %v, want SERVING", got)
	}

	checks.Shutdown()
	if got := recvStatus(t, stream); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("status after Shutdown = %v, want NOT_SERVING", got)
	}
	// Later passing evaluations do not resurrect a draining server.
	checks.Readiness(ctx)
	resp, err = client.Check(ctx, &healthpb.HealthCheckRequest{Service: "order.v1.OrderService"})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Check after shutdown = %v, %v; want NOT_SERVING", resp, err)
	}
}

func TestGRPCRunPolls(t *testing.T) {
	checks := New(WithCacheTTL(0))
	var failing atomic.Bool
	if err := checks.Register("db", func(context.Context) error {
		if failing.Load() {
			return errors.New("db down")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	hs := NewGRPCServer(checks, WithPollInterval(10*time.Millisecond))
	client := startHealthServer(t, hs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hs.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	}()

	waitStatus := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
			if err == nil && resp.GetStatus() == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("status never became %v (last %v, %v)", want, resp, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitStatus(healthpb.HealthCheckResponse_SERVING)
	failing.Store(true) // nobody probes over HTTP: the poll loop must notice
	waitStatus(healthpb.HealthCheckResponse_NOT_SERVING)
}
