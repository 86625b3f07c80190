package discovery_test

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/govkit/govern/runtime/discovery"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

// A client in us-west-2 dials inventory by name; calls stay in us-west-2
// while it has a healthy endpoint, and canary calls reach the canary.
func Example() {
	reg := discovery.NewMemoryRegistry() // or etcd.NewRegistry, consul..., dns...
	reg.Set("inventory",
		discovery.Endpoint{Addr: "127.0.0.2:50051", Region: "us-west-2"},
		discovery.Endpoint{Addr: "127.0.0.2:50052", Region: "us-west-2", Colour: "canary"},
		discovery.Endpoint{Addr: "127.0.0.3:50051", Region: "eu-west-1"},
	)
	b, err := discovery.NewBuilder(reg,
		discovery.WithLocalRegion("us-west-2"),
		discovery.WithProbe(5*time.Second, 800*time.Millisecond),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	conn, err := grpc.NewClient("govern:///inventory",
		append(b.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()

	// A call that asks for the canary:
	ctx := discovery.PreferColour(context.Background(), "canary")
	_ = ctx // inventoryv1.NewInventoryServiceClient(conn).Get(ctx, req)
	fmt.Println(conn.Target())
	// Output: govern:///inventory
}
