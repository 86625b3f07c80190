package govgen

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/compiler/protogen"

	"github.com/govkit/govern/runtime/policy"
)

// resolved returns the resolved table of every service in a testdata proto.
func resolved(t *testing.T, file string) policy.Table {
	t.Helper()
	gen, err := protogen.Options{}.New(compileRequest(t, "", protoImportPaths, file))
	if err != nil {
		t.Fatal(err)
	}
	out := policy.Table{}
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		fm, diags := resolveFile(f)
		if len(diags) > 0 {
			t.Fatal(diags)
		}
		for _, sm := range fm.services {
			for k, v := range sm.table {
				out[k] = v
			}
		}
	}
	return out
}

// TestResolutionFieldByField spells out, on levels.proto, that every field
// comes from the most specific level that sets it.
func TestResolutionFieldByField(t *testing.T) {
	tbl := resolved(t, "levels.proto")
	get := tbl.Lookup("/govern.golden.levels.Catalog/GetItem")
	search := tbl.Lookup("/govern.golden.levels.Catalog/SearchItems")
	del := tbl.Lookup("/govern.golden.levels.Catalog/DeleteItem")
	reindex := tbl.Lookup("/govern.golden.levels.Admin/Reindex")

	tests := []struct {
		name      string
		got, want any
	}{
		{"tier from file", get.Tier, policy.TierSilver},
		{"tier from method", search.Tier, policy.TierGold},
		{"tier from service", reindex.Tier, policy.TierBronze},
		{"timeout from service over file", get.Timeout, 800 * time.Millisecond},
		{"timeout from method", search.Timeout, 1500 * time.Millisecond},
		{"timeout from file (service sets none)", reindex.Timeout, 2 * time.Second},
		{"sampling: tier default", get.Sampling, 0.1},
		{"sampling: explicit", search.Sampling, 0.25},
		{"sampling: bronze default", reindex.Sampling, 0.01},
		{"retry attempts from method", search.Retry.MaxAttempts, 4},
		{"retry initial backoff from file", search.Retry.InitialBackoff, 50 * time.Millisecond},
		{"retry codes from method", search.Retry.Codes, []codes.Code{codes.Unavailable, codes.ResourceExhausted}},
		{"retry max backoff from method", reindex.Retry.MaxBackoff, 2 * time.Second},
		{"retry adaptive from method", reindex.Retry.Adaptive, true},
		{"inherited retry skipped on a non-idempotent method", del.Retry == nil, true},
		{"breaker ratio from file", get.CircuitBreaker.FailureRatio, 0.5},
		{"breaker min requests from file", get.CircuitBreaker.MinRequests, uint32(10)},
		{"breaker window from service", get.CircuitBreaker.Window, 30 * time.Second},
		{"breaker window built-in", reindex.CircuitBreaker.Window, DefaultBreakerWindow},
		{"breaker open_for from method", reindex.CircuitBreaker.OpenFor, time.Minute},
		{"rate from service, burst default", [2]any{get.RateLimit.RPS, get.RateLimit.Burst}, [2]any{200.0, 200}},
		{"rate from service, burst from method", [2]any{del.RateLimit.RPS, del.RateLimit.Burst}, [2]any{200.0, 5}},
		{"rate from method, burst ceil(rps)", [2]any{search.RateLimit.RPS, search.RateLimit.Burst}, [2]any{50.5, 51}},
		{"disabled from method", tbl.Lookup("/govern.golden.levels.Catalog/Debug").Disabled, true},
	}
	for _, tt := range tests {
		if !equal(tt.got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if search.RateLimit.Scope != policy.ScopeDistributed {
		t.Errorf("scope from method: %v", search.RateLimit.Scope)
	}
}

func TestResolutionIdempotencyDefaults(t *testing.T) {
	tbl := resolved(t, "keys.proto")
	charge := tbl.Lookup("/govern.golden.keys.Payments/Charge").Idempotency
	if charge.TTL != 48*time.Hour || charge.Lease != 30*time.Second || !charge.Required {
		t.Errorf("explicit ttl/lease/required: %+v", charge)
	}
	capture := tbl.Lookup("/govern.golden.keys.Payments/Capture").Idempotency
	if capture.TTL != DefaultIdempotencyTTL || capture.Lease != MinIdempotencyLease {
		t.Errorf("defaults with a 3s timeout: ttl %v lease %v, want 24h and max(6s, 10s)", capture.TTL, capture.Lease)
	}
	feed := resolved(t, "streaming.proto").Lookup("/govern.golden.streaming.Feed/Publish").Idempotency
	if feed.Lease != time.Minute {
		t.Errorf("lease with a 30s timeout = %v, want 2 x timeout", feed.Lease)
	}
}

func equal(a, b any) bool {
	switch x := a.(type) {
	case []codes.Code:
		y, ok := b.([]codes.Code)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	return a == b
}
