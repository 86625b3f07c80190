package policy

import (
	"testing"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func TestJoinKeyIsUnambiguous(t *testing.T) {
	cases := [][2][]string{
		{{"a|b", "c"}, {"a", "b|c"}},
		{{"1:a", ""}, {"1", ":a"}},
		{{"ab"}, {"a", "b"}},
	}
	for _, c := range cases {
		if JoinKey(c[0]...) == JoinKey(c[1]...) {
			t.Errorf("JoinKey(%q) == JoinKey(%q) = %q", c[0], c[1], JoinKey(c[0]...))
		}
	}
	if got, want := JoinKey("client-7", "sn-1"), "8:client-7;4:sn-1"; got != want {
		t.Errorf("JoinKey = %q, want %q", got, want)
	}
}

func TestMergeLaterTableWins(t *testing.T) {
	a := Table{"/s.A/M": {FullMethod: "/s.A/M", Tier: TierGold}, "/s.A/N": {FullMethod: "/s.A/N"}}
	b := Table{"/s.A/M": {FullMethod: "/s.A/M", Tier: TierBronze}}
	m := Merge(a, b)
	if len(m) != 2 {
		t.Fatalf("len = %d, want 2", len(m))
	}
	if m.Lookup("/s.A/M").Tier != TierBronze {
		t.Errorf("later table did not win")
	}
	if m.Lookup("/s.A/X") != nil {
		t.Errorf("unknown method resolved")
	}
}

func TestTierDefaultsAndRetrySafety(t *testing.T) {
	if TierGold.DefaultSampling() != 1 || TierSilver.DefaultSampling() != 0.1 || TierBronze.DefaultSampling() != 0.01 || TierUnspecified.DefaultSampling() != 0.01 {
		t.Error("tier sampling defaults changed")
	}
	if (&Method{}).RetrySafe() {
		t.Error("plain method must not be retry safe")
	}
	if !(&Method{IdempotencyLevel: NoSideEffects}).RetrySafe() || !(&Method{Idempotency: &Idempotency{}}).RetrySafe() {
		t.Error("idempotent methods must be retry safe")
	}
}

func TestParseTierAndProduction(t *testing.T) {
	for name, want := range map[string]Tier{"gold": TierGold, "TIER_SILVER": TierSilver, " Bronze ": TierBronze} {
		if got, err := ParseTier(name); err != nil || got != want {
			t.Errorf("ParseTier(%q) = %v, %v, want %v", name, got, err, want)
		}
	}
	if _, err := ParseTier("platinum"); err == nil {
		t.Error("ParseTier(platinum) accepted an unknown tier")
	}
	for env, want := range map[string]bool{"production": true, "PROD": true, "staging": false, "": false} {
		if IsProduction(env) != want {
			t.Errorf("IsProduction(%q) = %v", env, !want)
		}
	}
}
