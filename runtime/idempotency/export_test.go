package idempotency

import "fmt"

// Internals shared with the external test package (idempotency_test), which
// is external so that it can test the Redis store (redisstore imports this
// package).
const MemoryShards = memoryShards

var ReportCPU = reportCPU

const MinRetryDelay = minRetryDelay

// GovernedMethods returns the names of the methods s deduplicates.
func GovernedMethods(s *Server) []string {
	names := make([]string, 0, len(s.methods))
	for name := range s.methods {
		names = append(names, name)
	}
	return names
}

const StoreLogInterval = storeLogInterval

// ShardIndex returns the shard of k in s.
func ShardIndex(s *MemoryStore, k Key) int { return s.shardIndex(k) }

// MemoryStoreProblems checks the invariants of s's shards: each within its
// bound, slots and index agreeing, every key in its own shard.
func MemoryStoreProblems(s *MemoryStore) []string {
	var problems []string
	for i := range s.shards {
		sh := &s.shards[i]
		if len(sh.slots) > s.perShard {
			problems = append(problems, fmt.Sprintf("shard %d has %d slots, bound %d", i, len(sh.slots), s.perShard))
		}
		used := 0
		for j := range sh.slots {
			sl := &sh.slots[j]
			if !sl.used {
				continue
			}
			used++
			if idx, ok := sh.index[sl.key]; !ok || int(idx) != j {
				problems = append(problems, fmt.Sprintf("shard %d slot %d holds a key the index maps to %d (%v)", i, j, idx, ok))
			}
		}
		if used != len(sh.index) {
			problems = append(problems, fmt.Sprintf("shard %d: %d used slots, %d index entries", i, used, len(sh.index)))
		}
		for k, idx := range sh.index {
			if sh.slots[idx].key != k || s.shardIndex(k) != i {
				problems = append(problems, fmt.Sprintf("shard %d: index entry points at the wrong slot or shard", i))
			}
		}
	}
	return problems
}
