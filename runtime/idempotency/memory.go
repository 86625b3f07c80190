package idempotency

import (
	"context"
	"encoding/binary"
	"sync"
	"time"
)

// memoryShards spreads keys over independently locked maps so concurrent
// calls on different keys rarely contend. Keys are SHA-256 outputs, so their
// first byte is uniform.
const memoryShards = 64

// DefaultMaxEntries bounds a MemoryStore created without WithMaxEntries.
const DefaultMaxEntries = 100_000

// evictionScan bounds how many entries a full shard inspects to find one to
// evict, keeping Claim O(1).
const evictionScan = 16

// MemoryStore is the in-process Store: the default, and right for a single
// replica (replicas do not see each other's keys; use RedisStore for a
// fleet).
//
// It is bounded: at most WithMaxEntries records. Expired records are removed
// lazily (on access, and from the oldest end whenever a record is added), so
// the store needs no janitor goroutine and nothing to close. When a shard is
// full the oldest expired or finished record is evicted; a live in-flight
// claim is never evicted (that could run a handler twice), and when only
// claims remain Claim fails with ErrStoreFull, which the server treats as an
// unavailable store. Evicting a finished record before its TTL means a later
// retry with that key runs again, so size the store for the keys of one TTL.
type MemoryStore struct {
	// clock replaces time.Now in tests; nil means the monotonic clock.
	clock    func() time.Time
	epoch    time.Time
	perShard int
	shards   [memoryShards]memoryShard
}

type memoryShard struct {
	mu      sync.Mutex
	entries map[Key]*memoryEntry
	// head (oldest) and tail (newest) of the insertion-order list.
	head, tail *memoryEntry
	_          [32]byte // keep hot shards off one cache line
}

type memoryEntry struct {
	key        Key
	rec        Record
	expires    int64 // nanoseconds since the store's epoch
	prev, next *memoryEntry
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
		s.shards[i].entries = make(map[Key]*memoryEntry)
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
	if e := sh.entries[key]; e != nil {
		if e.expires > now {
			return e.rec, false, nil
		}
		sh.remove(e)
	}
	e := sh.sweep(now, 2)
	if len(sh.entries) >= s.perShard {
		if e = sh.evict(now); e == nil {
			return Record{}, false, ErrStoreFull
		}
	}
	// Entries never leave the lock (Claim returns copies), so a removed
	// one is recycled: a full store claims without allocating.
	if e == nil {
		e = new(memoryEntry)
	}
	claim.State = StateInFlight
	*e = memoryEntry{key: key, rec: claim, expires: now + int64(lease)}
	sh.entries[key] = e
	sh.pushBack(e)
	return Record{}, true, nil
}

// Finish implements Store.
func (s *MemoryStore) Finish(_ context.Context, key Key, owner Owner, result Record, ttl time.Duration) error {
	now := s.nanos()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.entries[key]
	if e == nil || e.expires <= now || e.rec.State != StateInFlight || e.rec.Owner != owner {
		return ErrNotOwner
	}
	result.State = StateFinished
	result.Owner = owner
	e.rec = result
	e.expires = now + int64(ttl)
	return nil
}

// Release implements Store.
func (s *MemoryStore) Release(_ context.Context, key Key, owner Owner) error {
	now := s.nanos()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.entries[key]
	if e == nil || e.expires <= now || e.rec.State != StateInFlight || e.rec.Owner != owner {
		return ErrNotOwner
	}
	sh.remove(e)
	return nil
}

// Len returns the number of records held, expired ones not yet removed
// included.
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.entries)
		sh.mu.Unlock()
	}
	return n
}

// sweep removes up to n expired entries from the oldest end and returns
// the last one removed, or nil.
func (sh *memoryShard) sweep(now int64, n int) (removed *memoryEntry) {
	for ; n > 0 && sh.head != nil && sh.head.expires <= now; n-- {
		removed = sh.head
		sh.remove(removed)
	}
	return removed
}

// evict removes and returns the oldest expired or finished entry among the
// first evictionScan, or returns nil.
func (sh *memoryShard) evict(now int64) *memoryEntry {
	e := sh.head
	for i := 0; i < evictionScan && e != nil; i, e = i+1, e.next {
		if e.expires <= now || e.rec.State == StateFinished {
			sh.remove(e)
			return e
		}
	}
	return nil
}

func (sh *memoryShard) pushBack(e *memoryEntry) {
	e.prev = sh.tail
	if sh.tail != nil {
		sh.tail.next = e
	} else {
		sh.head = e
	}
	sh.tail = e
}

func (sh *memoryShard) remove(e *memoryEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		sh.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		sh.tail = e.prev
	}
	e.prev, e.next = nil, nil
	delete(sh.entries, e.key)
}
