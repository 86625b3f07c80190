// Package slotest holds the policy tables the tests of the operator
// artefacts (rules, dashboards) render: one service covering every feature
// the artefacts react to, and synthetic fleets for benchmarks.
package slotest

import (
	"fmt"
	"time"

	"github.com/govkit/govern/runtime/policy"
)

// Service is the full name of the service Table describes.
const Service = "shop.v1.CheckoutService"

// Table is a service with a gold idempotent method with a breaker, a silver
// read with a rate limit and a breaker, a bronze server-streaming method, and
// a disabled method (which gets no rules).
func Table() policy.Table {
	breaker := func(openFor time.Duration) *policy.CircuitBreaker {
		return &policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second, OpenFor: openFor, HalfOpenRequests: 1}
	}
	m := func(name string, tier policy.Tier, timeout time.Duration) *policy.Method {
		return &policy.Method{FullMethod: "/" + Service + "/" + name, Service: Service, Name: name, Tier: tier, Timeout: timeout, Sampling: tier.DefaultSampling()}
	}
	pay := m("Pay", policy.TierGold, 800*time.Millisecond)
	pay.Idempotency = &policy.Idempotency{Required: true, KeyFields: []string{"order_id"}, TTL: 24 * time.Hour, Lease: 10 * time.Second}
	pay.CircuitBreaker = breaker(5 * time.Second)
	get := m("GetCart", policy.TierSilver, 300*time.Millisecond)
	get.IdempotencyLevel = policy.NoSideEffects
	get.RateLimit = &policy.RateLimit{RPS: 100, Burst: 100}
	get.CircuitBreaker = breaker(30 * time.Second)
	watch := m("WatchOrder", policy.TierBronze, 0)
	watch.ServerStreaming = true
	off := m("Debug", policy.TierBronze, time.Second)
	off.Disabled = true
	return policy.Table{pay.FullMethod: pay, get.FullMethod: get, watch.FullMethod: watch, off.FullMethod: off}
}

// Fleet returns n services of methods methods each, with the tiers, limits,
// breakers and idempotency of a realistic fleet, keyed by service name.
func Fleet(n, methods int) map[string]policy.Table {
	fleet := make(map[string]policy.Table, n)
	tiers := []policy.Tier{policy.TierGold, policy.TierSilver, policy.TierBronze}
	for s := range n {
		svc := fmt.Sprintf("svc%03d.v1.Service%03d", s, s)
		t := policy.Table{}
		for i := range methods {
			name := fmt.Sprintf("Method%02d", i)
			tier := tiers[(s+i)%len(tiers)]
			pm := &policy.Method{FullMethod: "/" + svc + "/" + name, Service: svc, Name: name, Tier: tier, Timeout: 2 * time.Second, Sampling: tier.DefaultSampling()}
			if i%2 == 0 {
				pm.Idempotency = &policy.Idempotency{Required: true, TTL: 24 * time.Hour, Lease: 10 * time.Second}
			}
			if i%3 == 0 {
				pm.RateLimit = &policy.RateLimit{RPS: float64(50 * (i + 1)), Burst: 50 * (i + 1)}
			}
			pm.CircuitBreaker = &policy.CircuitBreaker{FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second, OpenFor: time.Duration(5+i%3*5) * time.Second, HalfOpenRequests: 1}
			t[pm.FullMethod] = pm
		}
		fleet[svc] = t
	}
	return fleet
}
