package governance

import "github.com/govkit/govern/runtime/client"

// WithDiscovery makes the connections of DialOptions and DialOptionsFor
// resolve their targets with r and balance them with r's policy, such as a
// runtime/discovery Builder: grpc.NewClient("govern:///inventory",
// g.DialOptionsFor(inventoryv1.InventoryServicePolicy)...) then reaches the
// healthy instances of the caller's region, under the inventory table's
// timeouts and retries.
func WithDiscovery(r client.Resolution) Option {
	return func(c *config) { c.resolution = r }
}

// clientDefaults are the client options every DialOptionsFor starts from;
// the caller's options follow and win.
func (g *Governor) clientDefaults() []client.Option {
	opts := []client.Option{client.WithRegisterer(g.registerer)}
	if g.resolution != nil {
		opts = append(opts, client.WithResolution(g.resolution))
	}
	return opts
}
