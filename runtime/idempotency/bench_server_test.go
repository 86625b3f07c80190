package idempotency_test

import (
	"context"
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/idempotency/redisstore"
)

const createOrder = "/govern.test.v1.OrderService/CreateOrder"

// benchCreateOrder returns a function making one intercepted CreateOrder
// call (the generated table and messages) with the given idempotency key,
// and a handler that does no work: what is measured is the interceptor.
func benchCreateOrder(b *testing.B, store idempotency.Store) func(key string) {
	b.Helper()
	intercept := idempotency.NewServer(testv1.OrderServicePolicy, store).UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: createOrder}
	req := &testv1.CreateOrderRequest{ClientId: "client-7", Order: &testv1.Order{Sn: "sn-2026-000001", AmountCents: 12950}}
	resp := &testv1.Order{Id: "ord-000001", Sn: "sn-2026-000001", AmountCents: 12950, Status: "CREATED"}
	handler := func(context.Context, any) (any, error) { return resp, nil }
	return func(key string) {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(idempotency.MetadataKey, key))
		if _, err := intercept(ctx, req, info, handler); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkServerMemory(b *testing.B) {
	b.Run("first-call", func(b *testing.B) {
		call := benchCreateOrder(b, idempotency.NewMemoryStore())
		prefix := "key-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
		b.ReportAllocs()
		defer idempotency.ReportCPU(b)()
		i := 0
		for b.Loop() {
			i++
			call(prefix + strconv.Itoa(i))
		}
	})
	b.Run("replay", func(b *testing.B) {
		call := benchCreateOrder(b, idempotency.NewMemoryStore())
		call("k")
		b.ReportAllocs()
		defer idempotency.ReportCPU(b)()
		for b.Loop() {
			call("k")
		}
	})
}

// BenchmarkRedis times one PING and one idempotency operation in the same
// loop and reports their ratio (x-ping): the cost in units of one Redis
// round trip on this machine, whatever its load.
func BenchmarkRedis(b *testing.B) {
	client := requireRedis(b, func(o *redis.Options) { o.PoolSize = 4 })
	store := newRedisStore(b, client, redisstore.WithKeyPrefix(testPrefix(b, client)))
	ctx := context.Background()
	if err := store.Ready(ctx); err != nil {
		b.Fatal(err)
	}
	measure := func(b *testing.B, op func(i int)) {
		b.Helper()
		var ping, work time.Duration
		i := 0
		for b.Loop() {
			t0 := time.Now()
			if err := client.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			op(i)
			ping += t1.Sub(t0)
			work += time.Since(t1)
			i++
		}
		b.ReportMetric(float64(ping.Nanoseconds())/float64(i), "ping-ns/op")
		b.ReportMetric(float64(work.Nanoseconds())/float64(i), "idem-ns/op")
		b.ReportMetric(float64(work)/float64(ping), "x-ping")
	}
	b.Run("store-claim-finish", func(b *testing.B) {
		result := idempotency.Record{ResponseType: "govern.test.v1.Order", Payload: []byte("response bytes")}
		base := uint64(time.Now().UnixNano())
		measure(b, func(i int) {
			var k idempotency.Key
			binary.LittleEndian.PutUint64(k[:], base+uint64(i))
			owner := idempotency.Owner{1}
			if _, claimed, err := store.Claim(ctx, k, idempotency.Record{Owner: owner}, 10*time.Second); err != nil || !claimed {
				b.Fatalf("claim: %v %v", claimed, err)
			}
			if err := store.Finish(ctx, k, owner, result, time.Minute); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("server-first-call", func(b *testing.B) {
		call := benchCreateOrder(b, store)
		prefix := "key-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
		measure(b, func(i int) { call(prefix + strconv.Itoa(i)) })
	})
	b.Run("server-replay", func(b *testing.B) {
		call := benchCreateOrder(b, store)
		call("replayed")
		measure(b, func(int) { call("replayed") })
	})
}
