package policy

import (
	"fmt"
	"strings"
)

// MaxProductionSampling is the default cap on the root trace sampling
// ratio of every method in a production environment (1%): the tier
// defaults (gold 100%, silver 10%) hold in development and staging, and a
// production deployment lowers them to the config's `sampling` unless a
// tier is exempted explicitly.
const MaxProductionSampling = 0.01

// IsProduction reports whether env names a production environment
// ("production" or "prod", any case), where the sampling cap applies.
func IsProduction(env string) bool {
	env = strings.ToLower(strings.TrimSpace(env))
	return env == "production" || env == "prod"
}

// ParseTier parses a tier name as configs write it: "gold", "silver",
// "bronze" (any case), or the proto enum names "TIER_GOLD", ...
func ParseTier(name string) (Tier, error) {
	switch strings.TrimPrefix(strings.ToLower(strings.TrimSpace(name)), "tier_") {
	case "gold":
		return TierGold, nil
	case "silver":
		return TierSilver, nil
	case "bronze":
		return TierBronze, nil
	}
	return TierUnspecified, fmt.Errorf("unknown tier %q: use gold, silver or bronze", name)
}
