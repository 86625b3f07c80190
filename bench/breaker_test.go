package bench

import (
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	zbreaker "github.com/zeromicro/go-zero/core/breaker"

	"github.com/govkit/govern/runtime/breaker"
	"github.com/govkit/govern/runtime/policy"
)

// BenchmarkBreaker measures one admission plus one recorded success, the
// fast path every call pays, sequentially and from all Ps at once.
func BenchmarkBreaker(b *testing.B) {
	type allowDone func() bool
	candidates := []struct {
		name string
		make func() allowDone
	}{
		{"govern", func() allowDone {
			br := breaker.New(policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second, OpenFor: time.Second})
			return func() bool {
				p, err := br.Allow()
				if err != nil {
					return false
				}
				p.Done(nil)
				return true
			}
		}},
		{"gobreaker-v2-twostep", func() allowDone {
			cb := gobreaker.NewTwoStepCircuitBreaker[any](gobreaker.Settings{Interval: 10 * time.Second, BucketPeriod: time.Second, Timeout: time.Second})
			return func() bool {
				done, err := cb.Allow()
				if err != nil {
					return false
				}
				done(nil)
				return true
			}
		}},
		{"gobreaker-v2-execute", func() allowDone {
			cb := gobreaker.NewCircuitBreaker[any](gobreaker.Settings{Interval: 10 * time.Second, BucketPeriod: time.Second, Timeout: time.Second})
			return func() bool {
				_, err := cb.Execute(func() (any, error) { return nil, nil })
				return err == nil
			}
		}},
		{"go-zero", func() allowDone {
			br := zbreaker.NewBreaker()
			return func() bool {
				p, err := br.Allow()
				if err != nil {
					return false
				}
				p.Accept()
				return true
			}
		}},
	}
	for _, c := range candidates {
		b.Run(c.name, func(b *testing.B) {
			call := c.make()
			b.ReportAllocs()
			for b.Loop() {
				if !call() {
					b.Fatal("rejected")
				}
			}
		})
		b.Run(c.name+"-parallel", func(b *testing.B) {
			call := c.make()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !call() {
						b.Error("rejected")
						return
					}
				}
			})
		})
	}
}
