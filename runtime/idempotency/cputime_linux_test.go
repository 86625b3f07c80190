package idempotency

import "golang.org/x/sys/unix"

// threadCPUTime returns the CPU time the calling OS thread has used. On a
// machine shared with other work it measures the benchmark's own cost, which
// wall-clock ns/op cannot.
func threadCPUTime() (int64, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return ts.Nano(), true
}
