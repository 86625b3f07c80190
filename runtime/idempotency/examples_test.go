package idempotency_test

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/policy"
)

// A table as protoc-gen-govern generates it for
//
//	rpc CreateOrder(...) { option (govern.v1.method) = { idempotency { required: true } }; }
var orderPolicy = policy.Table{
	"/order.v1.OrderService/CreateOrder": {
		FullMethod:  "/order.v1.OrderService/CreateOrder",
		Service:     "order.v1.OrderService",
		Name:        "CreateOrder",
		Timeout:     800 * time.Millisecond,
		Idempotency: &policy.Idempotency{Required: true, TTL: 24 * time.Hour, Lease: 10 * time.Second},
	},
}

// The server interceptor runs the first call with a key and replays its
// response to every repeat; a repeat with another body is refused.
func ExampleServer_UnaryServerInterceptor() {
	srv := idempotency.NewServer(orderPolicy, idempotency.NewMemoryStore())
	intercept := srv.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/order.v1.OrderService/CreateOrder"}

	orders := 0
	createOrder := func(ctx context.Context, req any) (any, error) {
		orders++
		return wrapperspb.String(fmt.Sprintf("order-%d for %s", orders, req.(*wrapperspb.StringValue).GetValue())), nil
	}
	call := func(key, body string) {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(idempotency.MetadataKey, key))
		resp, err := intercept(ctx, wrapperspb.String(body), info, createOrder)
		if err != nil {
			fmt.Println(status.Code(err), errinfo.Reason(err))
			return
		}
		fmt.Println(resp.(*wrapperspb.StringValue).GetValue())
	}

	call(`"7c1e-double-click"`, "2 books")
	call(`"7c1e-double-click"`, "2 books")
	call(`"7c1e-double-click"`, "3 books")
	fmt.Println("orders created:", orders)
	// Output:
	// order-1 for 2 books
	// order-1 for 2 books
	// FailedPrecondition IDEMPOTENCY_KEY_REUSED
	// orders created: 1
}

func ExampleParseKey() {
	for _, v := range []string{`"a key with \"quotes\""`, "0190d6f1-8a3c-7c4e-9b1a-3f2e4d5c6b7a", "not a token"} {
		key, err := idempotency.ParseKey(v)
		fmt.Printf("%q %v\n", key, err)
	}
	// Output:
	// "a key with \"quotes\"" <nil>
	// "0190d6f1-8a3c-7c4e-9b1a-3f2e4d5c6b7a" <nil>
	// "" invalid idempotency key: byte 0x20 at offset 3 is not allowed in an unquoted key; quote the key as a structured-field string or use letters, digits and !#$%&'*+-.^_`|~:/
}
