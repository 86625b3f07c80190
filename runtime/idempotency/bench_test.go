package idempotency

import (
	"context"
	"encoding/binary"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// seqKey returns a distinct store key per n without hashing, so store
// benchmarks measure the store alone.
func seqKey(n uint64) Key {
	var k Key
	binary.LittleEndian.PutUint64(k[:8], n*0x9e3779b97f4a7c15) // spread over shards
	binary.LittleEndian.PutUint64(k[8:16], n)
	return k
}

func BenchmarkMemoryStoreClaimFinish(b *testing.B) {
	ctx := context.Background()
	s := NewMemoryStore()
	result := Record{Code: 0, ResponseType: "google.protobuf.Struct", Payload: []byte("response bytes")}
	var n uint64
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		n++
		k := seqKey(n)
		claim := Record{Owner: Owner{1}, Fingerprint: Fingerprint{2}}
		if _, claimed, err := s.Claim(ctx, k, claim, 10*time.Second); err != nil || !claimed {
			b.Fatalf("claim: %v %v", claimed, err)
		}
		if err := s.Finish(ctx, k, claim.Owner, result, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCPU locks the benchmark goroutine to its thread and, when the
// returned func runs, reports the thread's CPU time per op (cpu-ns/op):
// the store's own cost, unaffected by other processes competing for the
// CPU. Garbage collection on other threads is not included.
func reportCPU(b *testing.B) func() {
	runtime.LockOSThread()
	start, ok := threadCPUTime()
	return func() {
		end, _ := threadCPUTime()
		runtime.UnlockOSThread()
		if ok && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func BenchmarkMemoryStoreClaimFinishParallel(b *testing.B) {
	ctx := context.Background()
	s := NewMemoryStore()
	result := Record{ResponseType: "google.protobuf.Struct", Payload: []byte("response bytes")}
	var seq atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := seqKey(seq.Add(1))
			claim := Record{Owner: Owner{1}, Fingerprint: Fingerprint{2}}
			if _, claimed, err := s.Claim(ctx, k, claim, 10*time.Second); err != nil || !claimed {
				b.Fatalf("claim: %v %v", claimed, err)
			}
			if err := s.Finish(ctx, k, claim.Owner, result, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchCall returns a function making one intercepted call of methodPay
// with key i, and the request it sends.
func benchCall(b *testing.B, store Store) func(key string) {
	b.Helper()
	intercept := NewServer(testTable(time.Hour, 10*time.Second), store).UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: methodPay}
	req := mustStruct(b, map[string]any{"client_id": "client-7", "order_sn": "sn-000001", "amount": 129.5, "currency": "EUR"})
	resp := mustStruct(b, map[string]any{"order_id": "order-000001", "status": "CREATED"})
	handler := func(context.Context, any) (any, error) { return resp, nil }
	return func(key string) {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(MetadataKey, key))
		if _, err := intercept(ctx, req, info, handler); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkServerMemory(b *testing.B) {
	b.Run("first-call", func(b *testing.B) {
		call := benchCall(b, NewMemoryStore())
		prefix := "key-" + randomHex(4) + "-"
		b.ReportAllocs()
		defer reportCPU(b)()
		i := 0
		for b.Loop() {
			i++
			call(prefix + strconv.Itoa(i))
		}
	})
	b.Run("replay", func(b *testing.B) {
		call := benchCall(b, NewMemoryStore())
		call("k")
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			call("k")
		}
	})
}

// BenchmarkRedis measures, in the same loop, one PING and one idempotency
// operation, and reports their ratio (x-ping): the store's cost in units of
// one Redis round trip on this machine.
func BenchmarkRedis(b *testing.B) {
	client := requireRedis(b, func(o *redis.Options) { o.PoolSize = 4 })
	prefix := testPrefix(b, client)
	store := NewRedisStore(client, WithKeyPrefix(prefix))
	if err := store.Ready(context.Background()); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
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
		result := Record{ResponseType: "google.protobuf.Struct", Payload: []byte("response bytes")}
		base := uint64(time.Now().UnixNano())
		measure(b, func(i int) {
			k := seqKey(base + uint64(i))
			if _, claimed, err := store.Claim(ctx, k, Record{Owner: Owner{1}}, 10*time.Second); err != nil || !claimed {
				b.Fatalf("claim: %v %v", claimed, err)
			}
			if err := store.Finish(ctx, k, Owner{1}, result, time.Minute); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("server-first-call", func(b *testing.B) {
		call := benchCall(b, store)
		prefix := "key-" + randomHex(4) + "-"
		measure(b, func(i int) { call(prefix + strconv.Itoa(i)) })
	})
	b.Run("server-replay", func(b *testing.B) {
		call := benchCall(b, store)
		call("replayed")
		measure(b, func(int) { call("replayed") })
	})
}
