package idempotency

import (
	"context"
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
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
