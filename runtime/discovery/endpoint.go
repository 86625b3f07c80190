package discovery

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/resolver"
)

// DefaultColour is the colour of an endpoint that declares none, and the
// colour a call is routed to when it asks for none.
const DefaultColour = "stable"

// Endpoint is one instance of a service as a registry knows it.
type Endpoint struct {
	// Addr is host:port, dialled as is.
	Addr string
	// Region is where the instance runs, such as us-west-2. Empty means
	// unknown: the endpoint is never local to any caller.
	Region string
	// Colour is the release colour (stable, canary, blue, green...). Empty
	// means DefaultColour.
	Colour string
	// Attributes are the registry's free-form metadata (version, zone...).
	Attributes map[string]string
}

// colour returns the endpoint's colour with the default applied.
func (e Endpoint) colour() string {
	if e.Colour == "" {
		return DefaultColour
	}
	return e.Colour
}

// Equal reports whether e and o describe the same instance the same way.
func (e Endpoint) Equal(o Endpoint) bool {
	return e.Addr == o.Addr && e.Region == o.Region && e.colour() == o.colour() && maps.Equal(e.Attributes, o.Attributes)
}

// Validate reports the first problem that would make the endpoint unusable,
// as a sentence naming the fix.
func (e Endpoint) Validate() error {
	if e.Addr == "" {
		return errors.New("endpoint has no address: set host:port")
	}
	if _, _, err := splitHostPort(e.Addr); err != nil {
		return fmt.Errorf("endpoint address %q is not host:port: %w", e.Addr, err)
	}
	if e.Region != "" && !ValidLabel(e.Region) {
		return fmt.Errorf("endpoint region %q is not a valid label: use lower-case letters, digits and dashes, such as us-west-2", e.Region)
	}
	if e.Colour != "" && !ValidLabel(e.Colour) {
		return fmt.Errorf("endpoint colour %q is not a valid label: use lower-case letters, digits and dashes, such as canary", e.Colour)
	}
	return nil
}

var labelPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidLabel reports whether s can be a region or colour: lower-case
// letters, digits and inner dashes, at most 63 characters (a DNS label, so
// that every backend can carry it).
func ValidLabel(s string) bool { return labelPattern.MatchString(s) }

// Registry is one discovery backend seen from the resolving side.
type Registry interface {
	// Watch starts following the endpoints of service. It may return before
	// the first result is known.
	Watch(ctx context.Context, service string) (Watcher, error)
}

// Watcher follows the endpoints of one service.
type Watcher interface {
	// Next blocks until the endpoint set differs from the one Next last
	// returned (the first call returns the current set), or ctx ends.
	// An error ends the watch: the resolver keeps its last known
	// endpoints, closes the watcher, backs off and watches again. An empty set with a nil error means
	// the registry positively says the service has no instances.
	Next(ctx context.Context) ([]Endpoint, error)
	// Close stops the watch and releases its resources.
	Close() error
}

// Registrar is one discovery backend seen from the registering side.
type Registrar interface {
	// Register announces ep as an instance of service and keeps it
	// announced (lease keep-alive, TTL check...) until Deregister or
	// Close. It fails when the registry cannot be reached; Lifecycle
	// retries it.
	Register(ctx context.Context, service string, ep Endpoint) (Registration, error)
}

// Registration is one announced instance.
type Registration interface {
	// Lost is closed when the registration ended without Deregister
	// (a lease lost for good, a registry that forgot the instance), after
	// which Lifecycle registers again.
	Lost() <-chan struct{}
	// Deregister removes the instance from the registry now.
	Deregister(ctx context.Context) error
}

type regionKey struct{}
type colourKey struct{}
type metaKey struct{}

// meta is the registry metadata carried on an address; a named map so that
// the attributes package compares it by content.
type meta map[string]string

func (m meta) Equal(o any) bool {
	om, ok := o.(meta)
	return ok && maps.Equal(m, om)
}

// Address returns the resolver address of ep: its Addr, with its region,
// colour (default applied) and metadata as attributes.
func Address(ep Endpoint) resolver.Address {
	a := attributes.New(regionKey{}, ep.Region).WithValue(colourKey{}, ep.colour())
	if len(ep.Attributes) > 0 {
		a = a.WithValue(metaKey{}, meta(maps.Clone(ep.Attributes)))
	}
	return resolver.Address{Addr: ep.Addr, Attributes: a}
}

// EndpointFromAddress returns the endpoint an address was made from by
// Address; ok is false for an address that carries no region attribute.
func EndpointFromAddress(a resolver.Address) (ep Endpoint, ok bool) {
	region, ok := a.Attributes.Value(regionKey{}).(string)
	if !ok {
		return Endpoint{Addr: a.Addr}, false
	}
	colour, _ := a.Attributes.Value(colourKey{}).(string)
	m, _ := a.Attributes.Value(metaKey{}).(meta)
	return Endpoint{Addr: a.Addr, Region: region, Colour: colour, Attributes: maps.Clone(map[string]string(m))}, true
}

// sortEndpoints orders endpoints by address so that sets compare stably.
func sortEndpoints(eps []Endpoint) {
	slices.SortFunc(eps, func(a, b Endpoint) int { return strings.Compare(a.Addr, b.Addr) })
}

// SameEndpoints reports whether a and b hold the same endpoints in any order.
func SameEndpoints(a, b []Endpoint) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	sortEndpoints(a)
	sortEndpoints(b)
	return slices.EqualFunc(a, b, Endpoint.Equal)
}
