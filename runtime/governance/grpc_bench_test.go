package governance_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/logging"
	"github.com/govkit/govern/runtime/tracing"
)

// BenchmarkGRPCUnary is a whole gRPC round trip over an in-memory
// connection (bufconn), bare and governed (Echo: silver, 2s timeout, 10%
// sampling), to put the chain's cost next to the cost of an RPC.
func BenchmarkGRPCUnary(b *testing.B) {
	table := testv1.OrderServicePolicy
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tracing.NewSampler(table)))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	g, err := governance.New(table, governance.WithService("bench", "bench", "local"),
		governance.WithLogger(logging.New(io.Discard, slog.LevelInfo)), governance.WithTracerProvider(tp))
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []grpc.ServerOption
	}{
		{"bare", nil},
		{"governed", g.ServerOptions()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			lis := bufconn.Listen(1 << 20)
			srv := grpc.NewServer(tc.opts...)
			testv1.RegisterOrderServiceServer(srv, &orderServer{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = srv.Serve(lis)
			}()
			defer func() {
				srv.Stop()
				<-done
			}()
			conn, err := grpc.NewClient("passthrough:///bufnet",
				grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
				grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			client := testv1.NewOrderServiceClient(conn)
			req := &testv1.EchoRequest{Message: "hi"}
			ctx := context.Background()
			if _, err := client.Echo(ctx, req); err != nil { // connect
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.Echo(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
