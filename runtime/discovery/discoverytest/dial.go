package discoverytest

import (
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/govkit/govern/runtime/discovery"
)

// Dial returns a ClientConn to govern:///service through a Builder on reg
// with opts, closed when the test ends.
func Dial(tb testing.TB, reg discovery.Registry, service string, opts ...discovery.Option) *grpc.ClientConn {
	tb.Helper()
	b, err := discovery.NewBuilder(reg, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := grpc.NewClient("govern:///"+service, append(b.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}
