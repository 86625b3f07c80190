package recovery

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// panickyHealth panics on its first Check and answers afterwards.
type panickyHealth struct {
	healthpb.UnimplementedHealthServer
	calls int
}

func (p *panickyHealth) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	p.calls++
	if p.calls == 1 {
		var m map[string]int
		m["boom"]++ // nil map write
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func TestPanicBecomesInternalAndServerSurvives(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(UnaryServerInterceptor(logger)))
	healthpb.RegisterHealthServer(srv, &panickyHealth{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	_, err = client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Internal {
		t.Fatalf("panicking call returned %v, want INTERNAL", err)
	}
	if strings.Contains(err.Error(), "nil map") {
		t.Errorf("panic details leaked to the caller: %v", err)
	}
	resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("server did not keep serving: %v %v", resp, err)
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.SplitN(logs.Bytes(), []byte("\n"), 2)[0], &line); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if line["level"] != "ERROR" || line["method"] != "/grpc.health.v1.Health/Check" ||
		!strings.Contains(line["panic"].(string), "nil map") || !strings.Contains(line["stack"].(string), "panickyHealth") {
		t.Fatalf("panic log line = %v", line)
	}
}

func TestStreamPanic(t *testing.T) {
	interceptor := StreamServerInterceptor(nil)
	err := interceptor(nil, fakeStream{}, &grpc.StreamServerInfo{FullMethod: "/s.S/Watch"}, func(any, grpc.ServerStream) error {
		panic("stream bug")
	})
	if status.Code(err) != codes.Internal {
		t.Fatalf("got %v, want INTERNAL", err)
	}
}

type fakeStream struct{ grpc.ServerStream }

func (fakeStream) Context() context.Context { return context.Background() }
