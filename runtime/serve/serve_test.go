package serve

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/govkit/govern/runtime/admin"
	"github.com/govkit/govern/runtime/health"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func listen(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

// observedListener records what readiness looked like when it was closed.
type observedListener struct {
	net.Listener
	onClose func()
	once    sync.Once
}

func (l *observedListener) Close() error {
	l.once.Do(l.onClose)
	return l.Listener.Close()
}

func TestNewHTTPServerSetsEveryTimeout(t *testing.T) {
	s := NewHTTPServer(http.NewServeMux())
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 {
		t.Fatalf("timeouts = %v %v %v %v, want all set", s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout)
	}
	s = NewHTTPServer(http.NewServeMux(), WithReadHeaderTimeout(time.Second), WithReadTimeout(2*time.Second),
		WithWriteTimeout(3*time.Second), WithIdleTimeout(4*time.Second), WithMaxHeaderBytes(1024))
	if s.ReadHeaderTimeout != time.Second || s.ReadTimeout != 2*time.Second || s.WriteTimeout != 3*time.Second ||
		s.IdleTimeout != 4*time.Second || s.MaxHeaderBytes != 1024 {
		t.Fatalf("options not applied: %+v", s)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("NewHTTPServer(nil) did not panic")
		}
	}()
	NewHTTPServer(nil)
}

func TestValidate(t *testing.T) {
	lis := listen(t)
	defer lis.Close()
	// The misconfiguration Run must refuse, constructed on purpose.
	nilHandler := new(http.Server)
	nilHandler.ReadHeaderTimeout = time.Second
	noTimeouts := NewHTTPServer(http.NewServeMux(), WithReadHeaderTimeout(0), WithReadTimeout(0))
	tests := []struct {
		name    string
		opts    []Option
		wantErr string
	}{
		{name: "nothing", wantErr: "nothing to serve"},
		{name: "nil handler", opts: []Option{WithHTTP("admin", lis, nilHandler)}, wantErr: "DefaultServeMux"},
		{name: "no timeouts", opts: []Option{WithHTTP("admin", lis, noTimeouts)}, wantErr: "no read timeouts"},
		{name: "nil grpc", opts: []Option{WithGRPC(lis, nil)}, wantErr: "gRPC listener 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New(append(tt.opts, WithLogger(quiet()))...).Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestShutdownOrder: readiness is false (HTTP and gRPC health) before any
// listener closes, and an in-flight request completes.
func TestShutdownOrder(t *testing.T) {
	checks := health.New(health.WithCacheTTL(0))
	if err := checks.Register("db", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	hs := health.NewGRPCServer(checks, health.WithPollInterval(10*time.Millisecond))
	grpcSrv := grpc.NewServer()
	hs.Register(grpcSrv)

	inFlight := make(chan struct{})
	release := make(chan struct{})
	appMux := http.NewServeMux()
	appMux.HandleFunc("/slow", func(w http.ResponseWriter, _ *http.Request) {
		close(inFlight)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	adminHandler := admin.New(admin.WithChecks(checks))

	var mu sync.Mutex
	var closeLog []string
	observe := func(name string) func() {
		return func() {
			rep := checks.Readiness(context.Background())
			st, _ := hs.Server().Check(context.Background(), &healthpb.HealthCheckRequest{})
			mu.Lock()
			defer mu.Unlock()
			closeLog = append(closeLog, name)
			if rep.OK {
				t.Errorf("listener %s closed while readiness was still OK", name)
			}
			if st.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
				t.Errorf("listener %s closed while gRPC health was %v", name, st.GetStatus())
			}
		}
	}
	grpcLis := &observedListener{Listener: listen(t), onClose: observe("grpc")}
	appLis := &observedListener{Listener: listen(t), onClose: observe("app")}
	adminLis := &observedListener{Listener: listen(t), onClose: observe("admin")}

	srv := New(
		WithGRPC(grpcLis, grpcSrv),
		WithHTTP("app", appLis, NewHTTPServer(appMux)),
		WithHTTP("admin", adminLis, NewHTTPServer(adminHandler)),
		WithChecks(checks),
		WithGRPCHealth(hs),
		WithDrainDelay(150*time.Millisecond),
		WithShutdownTimeout(5*time.Second),
		WithLogger(quiet()),
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	adminURL := "http://" + adminLis.Addr().String()
	waitFor(t, func() bool { return status(client, adminURL+"/readyz") == 200 })

	conn, err := grpc.NewClient(grpcLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	watch, err := healthgrpc.NewHealthClient(conn).Watch(watchCtx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		resp, err := watch.Recv()
		return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
	})

	slow := make(chan string, 1)
	go func() {
		resp, err := client.Get("http://" + appLis.Addr().String() + "/slow")
		if err != nil {
			slow <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		slow <- string(body)
	}()
	<-inFlight

	cancel() // SIGTERM
	// During the drain delay the admin port still answers, with 503.
	waitFor(t, func() bool { return status(client, adminURL+"/readyz") == 503 })
	resp, err := watch.Recv()
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Watch after shutdown started = %v, %v; want NOT_SERVING", resp, err)
	}
	close(release)
	if got := <-slow; got != "done" {
		t.Fatalf("in-flight request got %q, want it drained to completion", got)
	}
	stopWatch() // end the Watch stream so GracefulStop can finish
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil after a requested shutdown", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(closeLog) != 3 {
		t.Fatalf("closed listeners = %v, want all three", closeLog)
	}
}

func TestListenerFailureStopsEverything(t *testing.T) {
	broken := listen(t)
	_ = broken.Close() // Serve fails at once
	healthy := listen(t)
	checks := health.New()
	srv := New(
		WithHTTP("broken", broken, NewHTTPServer(http.NewServeMux())),
		WithHTTP("healthy", healthy, NewHTTPServer(http.NewServeMux())),
		WithChecks(checks),
		WithDrainDelay(0),
		WithLogger(quiet()),
	)
	err := srv.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `"broken"`) {
		t.Fatalf("Run = %v, want the broken listener's error", err)
	}
	if !checks.ShuttingDown() {
		t.Fatal("readiness not flipped after a listener failure")
	}
	if _, err := net.Dial("tcp", healthy.Addr().String()); err == nil {
		t.Fatal("healthy listener still open after Run returned")
	}
}

func TestDrainTimeoutCutsConnections(t *testing.T) {
	started := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/stuck", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // returns when the connection is cut
	})
	lis := listen(t)
	srv := New(WithHTTP("app", lis, NewHTTPServer(mux)), WithDrainDelay(0), WithShutdownTimeout(50*time.Millisecond), WithLogger(quiet()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	go func() {
		if resp, err := client.Get("http://" + lis.Addr().String() + "/stuck"); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	cancel()
	if err := <-done; err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want a drain deadline error", err)
	}
}

func status(c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestGRPCHealthAloneFlipsItsChecks(t *testing.T) {
	checks := health.New()
	srv := New(
		WithHTTP("admin", listen(t), NewHTTPServer(admin.New(admin.WithChecks(checks)))),
		WithGRPCHealth(health.NewGRPCServer(checks)),
		WithDrainDelay(0),
		WithLogger(quiet()),
	)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if !checks.ShuttingDown() {
		t.Fatal("the health server's registry was not flipped on shutdown")
	}
}
