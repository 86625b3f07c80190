package governance

import (
	"google.golang.org/grpc"

	"github.com/govkit/govern/runtime/client"
)

// GatewayDialOptions returns the dial options of the HTTP gateway's
// connection to this service: DialOptions with client.ForGateway, so the
// gateway forwards its HTTP caller's idempotency key or none and never
// mints one (a required key missing over HTTP is always 400
// IDEMPOTENCY_KEY_MISSING), with the per-method deadlines, safe retries
// and client metrics of DialOptions.
//
// It has no client circuit breakers (client.WithoutBreakers): the server
// chain behind the connection breaks circuits already, split by traffic
// group, while a client breaker per target+method would count every HTTP
// caller as one group, so canary calls failing over HTTP would open it for
// production's HTTP calls too.
//
//	gwOpts, err := g.GatewayDialOptions()
//	conn, err := grpc.NewClient(grpcAddr, append(gwOpts, creds)...)
//	err = orderv1.RegisterOrderServiceGateway(ctx, gateway.NewServeMux(...), conn)
//
// DialOptions on a gateway connection cannot bypass a required key either:
// the muxes of gateway.NewServeMux mark every forwarded call and the key
// minting interceptor leaves marked calls alone. GatewayDialOptions is still
// the wiring to use, because it also drops retries that only a key makes
// safe (see client.ForGateway).
func (g *Governor) GatewayDialOptions(opts ...client.Option) ([]grpc.DialOption, error) {
	return g.DialOptionsFor(g.table, append([]client.Option{client.ForGateway(), client.WithoutBreakers()}, opts...)...)
}
