package health

import (
	"context"
	"testing"
)

// BenchmarkReadinessCached is the cost of one probe while results are
// cached: what a probe storm costs the process (the dependency sees one ping
// per TTL).
func BenchmarkReadinessCached(b *testing.B) {
	c := New()
	for _, name := range []string{"postgres", "redis", "queue"} {
		if err := c.Register(name, func(context.Context) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	c.Readiness(ctx)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !c.Readiness(ctx).OK {
				b.Fatal("not ready")
			}
		}
	})
}
