package governance

import "github.com/govkit/govern/runtime/ratelimit"

// Limiter returns the rate limiter of fullMethod for the default traffic
// group, or nil when the method has none. With Breaker it lets another transport of the same method
// (runtime/httpgovern's WithGovernor) count against the same limits.
func (g *Governor) Limiter(fullMethod string) *ratelimit.Limiter {
	if m := g.methods[fullMethod]; m != nil && m.limiters != nil {
		return m.limiters[0]
	}
	return nil
}
