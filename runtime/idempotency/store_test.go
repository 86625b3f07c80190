package idempotency_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	. "github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/idempotency/redisstore"
)

// storeFactory builds a fresh, empty store and advances its clock by d
// (memory: a fake clock; redis: real sleeping).
type storeFactory struct {
	name string
	new  func(t *testing.T) (store Store, advance func(d time.Duration))
}

func storeFactories() []storeFactory {
	return []storeFactory{
		{name: "memory", new: func(t *testing.T) (Store, func(time.Duration)) {
			clock := newFakeClock()
			return NewMemoryStore(WithMemoryClock(clock.Now)), clock.Advance
		}},
		{name: "redis", new: func(t *testing.T) (Store, func(time.Duration)) {
			c := requireRedis(t)
			return newRedisStore(t, c, redisstore.WithKeyPrefix(testPrefix(t, c))), func(d time.Duration) { time.Sleep(d) }
		}},
	}
}

type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func owner(b byte) Owner                     { return Owner{b, b, b} }
func fp(b byte) Fingerprint                  { return Fingerprint{b, 1, 2, 3} }
func inFlight(o Owner, f Fingerprint) Record {
	return Record{Owner: o, Fingerprint: f, Deadline: time.UnixMilli(1_800_000_000_123)}
}
func finished(f Fingerprint, p string) Record {
	return Record{Fingerprint: f, Code: codes.OK, ResponseType: "google.protobuf.Struct", Payload: []byte(p)}
}

// claimAndOutlive claims k for owner 1 with a 100 ms lease and lets the
// lease end.
func claimAndOutlive(t *testing.T, s Store, advance func(time.Duration), k Key) {
	t.Helper()
	if _, claimed, _ := s.Claim(context.Background(), k, inFlight(owner(1), fp(1)), 100*time.Millisecond); !claimed {
		t.Fatal("not claimed")
	}
	advance(150 * time.Millisecond)
}

// TestStoreContract runs the Store contract against every implementation.
func TestStoreContract(t *testing.T) {
	ctx := context.Background()
	for _, sf := range storeFactories() {
		t.Run(sf.name, func(t *testing.T) {
			t.Run("claim, duplicate, finish, replay", func(t *testing.T) {
				s, _ := sf.new(t)
				k := DeriveKey("", "/s.S/M", "k1")
				if _, claimed, err := s.Claim(ctx, k, inFlight(owner(1), fp(1)), time.Minute); err != nil || !claimed {
					t.Fatalf("first claim: claimed=%v err=%v", claimed, err)
				}
				got, claimed, err := s.Claim(ctx, k, inFlight(owner(2), fp(1)), time.Minute)
				if err != nil || claimed {
					t.Fatalf("second claim: claimed=%v err=%v", claimed, err)
				}
				if got.State != StateInFlight || got.Owner != owner(1) || got.Fingerprint != fp(1) || !got.Deadline.Equal(time.UnixMilli(1_800_000_000_123)) {
					t.Errorf("in-flight record = %+v", got)
				}
				if err := s.Finish(ctx, k, owner(2), finished(fp(1), "x"), time.Minute); !errors.Is(err, ErrNotOwner) {
					t.Errorf("finish by another owner: %v, want ErrNotOwner", err)
				}
				if err := s.Release(ctx, k, owner(2)); !errors.Is(err, ErrNotOwner) {
					t.Errorf("release by another owner: %v, want ErrNotOwner", err)
				}
				if err := s.Finish(ctx, k, owner(1), finished(fp(1), "payload\x00bytes"), time.Minute); err != nil {
					t.Fatalf("finish: %v", err)
				}
				got, claimed, err = s.Claim(ctx, k, inFlight(owner(3), fp(1)), time.Minute)
				if err != nil || claimed {
					t.Fatalf("claim after finish: claimed=%v err=%v", claimed, err)
				}
				if got.State != StateFinished || got.Code != codes.OK || got.ResponseType != "google.protobuf.Struct" || string(got.Payload) != "payload\x00bytes" || got.Fingerprint != fp(1) || got.Owner != owner(1) {
					t.Errorf("finished record = %+v", got)
				}
				if err := s.Finish(ctx, k, owner(1), finished(fp(1), "y"), time.Minute); !errors.Is(err, ErrNotOwner) {
					t.Errorf("second finish: %v, want ErrNotOwner", err)
				}
				if err := s.Release(ctx, k, owner(1)); !errors.Is(err, ErrNotOwner) {
					t.Errorf("release of a finished record: %v, want ErrNotOwner", err)
				}
			})
			t.Run("release frees the key", func(t *testing.T) {
				s, _ := sf.new(t)
				k := DeriveKey("", "/s.S/M", "k2")
				if _, claimed, _ := s.Claim(ctx, k, inFlight(owner(1), fp(1)), time.Minute); !claimed {
					t.Fatal("not claimed")
				}
				if err := s.Release(ctx, k, owner(1)); err != nil {
					t.Fatal(err)
				}
				if _, claimed, err := s.Claim(ctx, k, inFlight(owner(2), fp(2)), time.Minute); err != nil || !claimed {
					t.Fatalf("claim after release: claimed=%v err=%v", claimed, err)
				}
			})
			t.Run("a resent claim or finish is the owner's", func(t *testing.T) {
				// What a client library's retry of a command whose reply
				// was lost looks like to the store.
				s, _ := sf.new(t)
				k := DeriveKey("", "/s.S/M", "k5")
				for attempt := range 2 {
					if got, claimed, err := s.Claim(ctx, k, inFlight(owner(1), fp(1)), time.Minute); err != nil || !claimed {
						t.Fatalf("claim attempt %d: claimed=%v err=%v existing=%+v", attempt, claimed, err, got)
					}
				}
				for attempt := range 2 {
					if err := s.Finish(ctx, k, owner(1), finished(fp(1), "r"), time.Minute); err != nil {
						t.Fatalf("finish attempt %d: %v", attempt, err)
					}
				}
				got, claimed, err := s.Claim(ctx, k, inFlight(owner(1), fp(1)), time.Minute)
				if err != nil || claimed || got.State != StateFinished || string(got.Payload) != "r" {
					t.Errorf("the owner's claim after its result: claimed=%v err=%v record=%+v, want the result", claimed, err, got)
				}
				if err := s.Finish(ctx, k, owner(2), finished(fp(1), "r"), time.Minute); !errors.Is(err, ErrNotOwner) {
					t.Errorf("another owner's identical finish: %v, want ErrNotOwner", err)
				}
			})
			t.Run("lease and ttl expire", func(t *testing.T) {
				s, advance := sf.new(t)
				k := DeriveKey("", "/s.S/M", "k3")
				claimAndOutlive(t, s, advance, k)
				if _, claimed, err := s.Claim(ctx, k, inFlight(owner(2), fp(1)), time.Minute); err != nil || !claimed {
					t.Fatalf("claim after the lease: claimed=%v err=%v", claimed, err)
				}
				if err := s.Finish(ctx, k, owner(1), finished(fp(1), "late"), time.Minute); !errors.Is(err, ErrNotOwner) {
					t.Errorf("finish after the lease, the key claimed again: %v, want ErrNotOwner", err)
				}
				if err := s.Finish(ctx, k, owner(2), finished(fp(1), "r"), 100*time.Millisecond); err != nil {
					t.Fatal(err)
				}
				advance(150 * time.Millisecond)
				if _, claimed, err := s.Claim(ctx, k, inFlight(owner(3), fp(1)), time.Minute); err != nil || !claimed {
					t.Fatalf("claim after the ttl: claimed=%v err=%v", claimed, err)
				}
			})
			t.Run("a late result takes a key nobody claimed since", func(t *testing.T) {
				s, advance := sf.new(t)
				k := DeriveKey("", "/s.S/M", "k6")
				claimAndOutlive(t, s, advance, k)
				if err := s.Finish(ctx, k, owner(1), finished(fp(1), "late"), time.Minute); err != nil {
					t.Fatalf("finish after the lease, the key free: %v, want nil", err)
				}
				got, claimed, err := s.Claim(ctx, k, inFlight(owner(2), fp(1)), time.Minute)
				if err != nil || claimed || got.State != StateFinished || string(got.Payload) != "late" {
					t.Errorf("claim after the late result: claimed=%v err=%v record=%+v, want the result", claimed, err, got)
				}
			})
			t.Run("one of many concurrent claims wins", func(t *testing.T) {
				s, _ := sf.new(t)
				k := DeriveKey("", "/s.S/M", "k4")
				var wins atomic.Int32
				var wg sync.WaitGroup
				for i := range 50 {
					wg.Go(func() {
						_, claimed, err := s.Claim(ctx, k, inFlight(owner(byte(i)), fp(1)), time.Minute)
						if err != nil {
							t.Error(err)
						}
						if claimed {
							wins.Add(1)
						}
					})
				}
				wg.Wait()
				if wins.Load() != 1 {
					t.Errorf("%d claims won, want 1", wins.Load())
				}
			})
			t.Run("keys are independent", func(t *testing.T) {
				s, _ := sf.new(t)
				for _, k := range []Key{DeriveKey("", "/s.S/M", "a"), DeriveKey("", "/s.S/N", "a"), DeriveKey("tenant", "/s.S/M", "a")} {
					if _, claimed, err := s.Claim(ctx, k, inFlight(owner(1), fp(1)), time.Minute); err != nil || !claimed {
						t.Fatalf("claim %s: claimed=%v err=%v", k, claimed, err)
					}
				}
			})
		})
	}
}

func TestDeriveKeyIsUnambiguous(t *testing.T) {
	if DeriveKey("a", "b", "c") == DeriveKey("ab", "", "c") || DeriveKey("", "m", "k") == DeriveKey("", "mk", "") {
		t.Error("length prefixes do not separate the parts")
	}
	if DeriveKey("", "m", "k") != DeriveKey("", "m", "k") {
		t.Error("DeriveKey is not deterministic")
	}
}

func TestMemoryStoreIsBounded(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := NewMemoryStore(WithMaxEntries(MemoryShards), WithMemoryClock(clock.Now)) // one entry per shard
	// Fill every shard with a finished record.
	keys := make(map[int]Key)
	for i := 0; len(keys) < MemoryShards; i++ {
		k := DeriveKey("", "/s.S/M", string(rune('a'+i%26))+randomHex(4))
		sh := ShardIndex(s, k)
		if _, ok := keys[sh]; ok {
			continue
		}
		keys[sh] = k
		if _, claimed, err := s.Claim(ctx, k, inFlight(owner(1), fp(1)), time.Minute); !claimed || err != nil {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		if err := s.Finish(ctx, k, owner(1), finished(fp(1), "r"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if s.Len() != MemoryShards {
		t.Fatalf("Len = %d, want %d", s.Len(), MemoryShards)
	}
	// A new key evicts the finished record of its shard.
	k0 := keys[0]
	var newKey Key
	for i := 0; ; i++ {
		newKey = DeriveKey("", "/s.S/M", "new"+randomHex(4))
		if ShardIndex(s, newKey) == 0 {
			break
		}
	}
	if _, claimed, err := s.Claim(ctx, newKey, inFlight(owner(2), fp(2)), time.Minute); !claimed || err != nil {
		t.Fatalf("claim into a full shard: %v %v", claimed, err)
	}
	if s.Len() != MemoryShards {
		t.Errorf("Len = %d after eviction, want %d", s.Len(), MemoryShards)
	}
	// k0's record was evicted (else Claim would return it), and the shard
	// now holds only newKey's live claim, which is never evicted.
	if rec, claimed, err := s.Claim(ctx, k0, inFlight(owner(3), fp(1)), time.Minute); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("claim of the evicted key: %+v %v %v, want ErrStoreFull", rec, claimed, err)
	}
	third := k0
	// Once the claim's lease ends it is evictable.
	clock.Advance(2 * time.Minute)
	if _, claimed, err := s.Claim(ctx, third, inFlight(owner(4), fp(4)), time.Minute); !claimed || err != nil {
		t.Errorf("claim after the lease ended: %v %v", claimed, err)
	}
}

// TestMemoryStoreStaysConsistent hammers a tiny store with random claims,
// finishes and releases from many goroutines (run it with -race), then
// checks that the index and the slots agree and that no key is held twice.
func TestMemoryStoreStaysConsistent(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := NewMemoryStore(WithMaxEntries(2*MemoryShards), WithMemoryClock(clock.Now))
	keys := make([]Key, 400)
	for i := range keys {
		keys[i] = DeriveKey("", "/s.S/M", randomHex(4))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 3000 {
				k := keys[(g*7919+i*31)%len(keys)]
				o := Owner{byte(g), byte(i), byte(i >> 8)}
				_, claimed, err := s.Claim(ctx, k, inFlight(o, fp(1)), time.Duration(1+i%5)*time.Millisecond)
				if err != nil && !errors.Is(err, ErrStoreFull) {
					t.Error(err)
					return
				}
				if !claimed {
					continue
				}
				var ferr error
				if i%3 == 0 {
					ferr = s.Release(ctx, k, o)
				} else {
					ferr = s.Finish(ctx, k, o, finished(fp(1), "r"), time.Duration(1+i%7)*time.Millisecond)
				}
				if ferr != nil && !errors.Is(ferr, ErrNotOwner) {
					t.Error(ferr)
				}
				if i%50 == 0 {
					clock.Advance(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	for _, problem := range MemoryStoreProblems(s) {
		t.Error(problem)
	}
}
