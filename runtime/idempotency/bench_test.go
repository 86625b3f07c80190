package idempotency

import (
	"context"
	"encoding/binary"
	"runtime"
	"sync"
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

// BenchmarkMemoryStoreClaimFinish claims a new key and finishes it, in a
// store kept full (every claim evicts the oldest finished record): with the
// default bound, whose 100 000 records do not fit in CPU caches, and with a
// bound whose records do.
func BenchmarkMemoryStoreClaimFinish(b *testing.B) {
	for _, bc := range []struct {
		name    string
		entries int
	}{{"entries=6400", 6400}, {"entries=100000", DefaultMaxEntries}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			s := NewMemoryStore(WithMaxEntries(bc.entries))
			result := Record{Code: 0, ResponseType: "google.protobuf.Struct", Payload: []byte("response bytes")}
			var n uint64
			for ; n < uint64(bc.entries); n++ { // fill: measure the steady state
				_, _, _ = s.Claim(ctx, seqKey(n), Record{}, time.Hour)
				_ = s.Finish(ctx, seqKey(n), Owner{}, result, time.Hour)
			}
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
		})
	}
}

// BenchmarkMemoryStoreFloor is the floor under any bounded in-process
// store doing claim+finish: per op two lock/unlock pairs, one map insert,
// one lookup and one delete (of the oldest key, keeping a shard's size at
// DefaultMaxEntries/memoryShards). Compare MemoryStoreClaimFinish with it
// on the same machine; on a loaded machine both rise together.
func BenchmarkMemoryStoreFloor(b *testing.B) {
	var mu sync.Mutex
	const size = DefaultMaxEntries / memoryShards
	m := make(map[Key]int32, size)
	var n uint64
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		n++
		k := seqKey(n)
		mu.Lock()
		if n > size {
			delete(m, seqKey(n-size))
		}
		m[k] = int32(n)
		mu.Unlock()
		mu.Lock()
		_ = m[k]
		mu.Unlock()
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
