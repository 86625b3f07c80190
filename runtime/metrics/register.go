package metrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// RegisterOrReuse registers c on reg and returns it, or returns the
// collector already registered there under the same descriptors, so that
// several components sharing one registry (governors of several services,
// two gateway muxes, several clients) count into one set of series instead
// of failing.
//
// A collector already registered under the same name but of another type
// (a counter where a histogram is wanted) is a conflict, not a reuse: it
// returns c, unregistered, with an error naming the metric, rather than
// silently counting into a collector nobody exports.
func RegisterOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var already prometheus.AlreadyRegisteredError
	if !errors.As(err, &already) {
		return c, fmt.Errorf("register metric: %w; pass a registerer without a conflicting metric of that name", err)
	}
	existing, ok := already.ExistingCollector.(C)
	if !ok {
		return c, fmt.Errorf("register metric: a %T is already registered under the same name where a %T is needed; pass a registerer without a conflicting metric of that name", already.ExistingCollector, c)
	}
	return existing, nil
}
