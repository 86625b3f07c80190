//go:build !linux

package idempotency

func threadCPUTime() (int64, bool) { return 0, false }
