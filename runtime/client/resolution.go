package client

import (
	"encoding/json"
	"fmt"

	"google.golang.org/grpc/resolver"
)

// Resolution is a name resolver together with the load-balancing policy
// its addresses are meant for, such as runtime/discovery's Builder (the
// govern:/// scheme and its region- and colour-aware balancer).
type Resolution interface {
	// Resolver is passed to grpc.WithResolvers.
	Resolver() resolver.Builder
	// LoadBalancingConfig is the service config's loadBalancingConfig value.
	LoadBalancingConfig() json.RawMessage
}

// WithResolution makes the ClientConn resolve targets with r and balance
// them with r's policy, merged into the service config of the policy table
// (one service config carries timeouts, retries and the balancer).
func WithResolution(r Resolution) Option { return func(o *options) { o.resolution = r } }

// withLoadBalancing sets the loadBalancingConfig of a service config document.
func withLoadBalancing(sc string, lb json.RawMessage) (string, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(sc), &doc); err != nil {
		return "", fmt.Errorf("client: reading the service config: %w", err)
	}
	if doc == nil {
		doc = map[string]json.RawMessage{}
	}
	doc["loadBalancingConfig"] = lb
	out, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("client: encoding the service config with the resolution's balancer: %w", err)
	}
	return string(out), nil
}
