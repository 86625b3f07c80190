package idempotency

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"time"
)

// memoryShards spreads keys over independently locked maps so concurrent
// calls on different keys rarely contend. Keys are SHA-256 outputs, so their
// first bytes are uniform.
const memoryShards = 64

// DefaultMaxEntries bounds a MemoryStore created without WithMaxEntries.
const DefaultMaxEntries = 100_000

// evictionScan bounds how many slots a full shard inspects to find one to
// reuse, keeping Claim O(1).
const evictionScan = 16

// MemoryStore is the in-process Store: the default, and right for a single
// replica (replicas do not see each other's keys; use RedisStore for a
// fleet).
//
// It is bounded: at most WithMaxEntries records, kept per shard in a slab of
// slots filled in order and then reused round-robin, with a map from key to
// slot. A claim on a full shard takes the next slot whose record is
// expired, released or finished: roughly the oldest. A live in-flight claim
// is never evicted (that could run a handler twice); when the next slots
// all hold live claims, Claim fails with ErrStoreFull, which the server
// treats as an unavailable store. Evicting a finished record before its TTL
// means a later retry with that key runs again, so size the store for the
// keys written during one TTL.
//
// Expired records are ignored on access and overwritten when their slot
// comes round, so the store needs no janitor goroutine and nothing to close;
// its memory grows to the bound and stays there. A slab walked in order
// costs fewer cache misses per claim than a linked list, and reusing slots
// means a full store claims without allocating.
type MemoryStore struct {
	// clock replaces time.Now in tests; nil means the monotonic clock.
	clock    func() time.Time
	epoch    time.Time
	perShard int
	shards   [memoryShards]memoryShard
}

type memoryShard struct {
	mu    sync.Mutex
	index map[Key]int32 // key -> position in slots
	slots []memorySlot  // grows to perShard, then reused from next
	next  int
	_     [24]byte // keep hot shards off one cache line
}

type memorySlot struct {
	key     Key
	rec     Record
	expires int64 // nanoseconds since the store's epoch
	used    bool
}

// MemoryOption configures a MemoryStore.
type MemoryOption func(*MemoryStore)

// WithMaxEntries bounds the number of records the store keeps (default
// DefaultMaxEntries). Values below the shard count are raised to it.
func WithMaxEntries(n int) MemoryOption {
	return func(s *MemoryStore) {
		s.perShard = (n + memoryShards - 1) / memoryShards
	}
}

// WithMemoryClock replaces time.Now, for tests of expiry.
func WithMemoryClock(now func() time.Time) MemoryOption {
	return func(s *MemoryStore) { s.clock = now }
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(opts ...MemoryOption) *MemoryStore {
	s := &MemoryStore{}
	WithMaxEntries(DefaultMaxEntries)(s)
	for _, o := range opts {
		o(s)
	}
	if s.clock != nil {
		s.epoch = s.clock()
	} else {
		s.epoch = time.Now()
	}
	if s.perShard < 1 {
		s.perShard = 1
	}
	for i := range s.shards {
		s.shards[i].index = make(map[Key]int32)
	}
	return s
}

// nanos returns the time since the store's epoch. time.Since reads only the
// monotonic clock, half the cost of time.Now, and ignores wall-clock jumps.
func (s *MemoryStore) nanos() int64 {
	if s.clock != nil {
		return int64(s.clock().Sub(s.epoch))
	}
	return int64(time.Since(s.epoch))
}

func (s *MemoryStore) shard(k Key) *memoryShard { return &s.shards[s.shardIndex(k)] }

func (s *MemoryStore) shardIndex(k Key) int {
	return int(binary.LittleEndian.Uint64(k[:8]) % memoryShards)
}

// Claim implements Store.
func (s *MemoryStore) Claim(_ context.Context, key Key, claim Record, lease time.Duration) (Record, bool, error) {
	now := s.nanos()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, ok := sh.index[key]
	if ok {
		if sl := &sh.slots[i]; sl.expires > now {
			if sl.rec.State == StateInFlight && sl.rec.Owner == claim.Owner {
				return Record{}, true, nil
			}
			return sl.rec, false, nil
		}
		// Expired: the claim takes over the record's own slot.
	} else if i, ok = sh.freeSlot(s.perShard, now); !ok {
		return Record{}, false, ErrStoreFull
	}
	claim.State = StateInFlight
	sh.slots[i] = memorySlot{key: key, rec: claim, expires: now + int64(lease), used: true}
	sh.index[key] = i
	return Record{}, true, nil
}

// freeSlot returns a slot for a new key: a new one while the shard is below
// its bound, else the next of the following evictionScan slots that holds
// no live claim (its record, if any, is dropped).
func (sh *memoryShard) freeSlot(bound int, now int64) (int32, bool) {
	if len(sh.slots) < bound {
		sh.slots = append(sh.slots, memorySlot{})
		return int32(len(sh.slots) - 1), true
	}
	for range min(evictionScan, len(sh.slots)) {
		i := sh.next
		sh.next++
		if sh.next == len(sh.slots) {
			sh.next = 0
		}
		sl := &sh.slots[i]
		if !sl.used {
			return int32(i), true
		}
		if sl.expires <= now || sl.rec.State == StateFinished {
			delete(sh.index, sl.key)
			return int32(i), true
		}
	}
	return 0, false
}

// held returns the live in-flight slot of key owned by owner, or nil.
func (sh *memoryShard) held(key Key, owner Owner, now int64) *memorySlot {
	i, ok := sh.index[key]
	if !ok {
		return nil
	}
	sl := &sh.slots[i]
	if sl.expires <= now || sl.rec.State != StateInFlight || sl.rec.Owner != owner {
		return nil
	}
	return sl
}

// Finish implements Store.
func (s *MemoryStore) Finish(_ context.Context, key Key, owner Owner, result Record, ttl time.Duration) error {
	now := s.nanos()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	result.State = StateFinished
	result.Owner = owner
	i, ok := sh.index[key]
	switch {
	case ok && sh.slots[i].expires > now:
		switch rec := &sh.slots[i].rec; {
		case rec.State == StateInFlight && rec.Owner == owner:
		case sameRecord(rec, &result):
			return nil // a repeated Finish
		default:
			return ErrNotOwner // another call's claim or result
		}
	case !ok:
		// The claim expired and its slot was reused: nobody claimed the
		// key since, so the late result takes a new slot.
		if i, ok = sh.freeSlot(s.perShard, now); !ok {
			return ErrStoreFull
		}
		sh.index[key] = i
	}
	sh.slots[i] = memorySlot{key: key, rec: result, expires: now + int64(ttl), used: true}
	return nil
}

// sameRecord reports whether a and b hold the same result.
func sameRecord(a, b *Record) bool {
	return a.State == b.State && a.Owner == b.Owner && a.Fingerprint == b.Fingerprint && a.Code == b.Code &&
		a.ResponseType == b.ResponseType && bytes.Equal(a.Payload, b.Payload)
}

// Release implements Store.
func (s *MemoryStore) Release(_ context.Context, key Key, owner Owner) error {
	now := s.nanos()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sl := sh.held(key, owner, now)
	if sl == nil {
		return ErrNotOwner
	}
	delete(sh.index, key)
	*sl = memorySlot{}
	return nil
}

// Len returns the number of records held, expired ones not yet overwritten
// included.
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.index)
		sh.mu.Unlock()
	}
	return n
}
