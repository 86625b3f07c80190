package discovery

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the collectors of the resolving side. One set serves every
// resolver and balancer of a Builder; labels come from declarations (service
// names the caller dials, regions and colours the registry declares), never
// from requests.
type Metrics struct {
	endpoints      *prometheus.GaugeVec
	failovers      *prometheus.CounterVec
	registryErrors *prometheus.CounterVec
	stale          *prometheus.GaugeVec
	updates        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		endpoints: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "govern_discovery_endpoints",
			Help: "Endpoints a client knows per dialled service, region, colour and probe state (healthy, unhealthy, unknown).",
		}, []string{"service", "region", "colour", "state"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govern_discovery_failovers_total",
			Help: "Times calls of a colour started leaving the caller's region because it had too few healthy endpoints.",
		}, []string{"service", "region", "colour"}),
		registryErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govern_discovery_registry_errors_total",
			Help: "Registry errors seen by resolvers; the resolver kept its last known endpoints.",
		}, []string{"service"}),
		stale: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "govern_discovery_stale",
			Help: "1 while a resolver serves its last known endpoints because its registry fails.",
		}, []string{"service"}),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govern_discovery_updates_total",
			Help: "Endpoint sets pushed to the balancer per dialled service.",
		}, []string{"service"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.endpoints, err = registerOrReuse(reg, m.endpoints); err != nil {
		return nil, err
	}
	if m.failovers, err = registerOrReuse(reg, m.failovers); err != nil {
		return nil, err
	}
	if m.registryErrors, err = registerOrReuse(reg, m.registryErrors); err != nil {
		return nil, err
	}
	if m.stale, err = registerOrReuse(reg, m.stale); err != nil {
		return nil, err
	}
	if m.updates, err = registerOrReuse(reg, m.updates); err != nil {
		return nil, err
	}
	return m, nil
}

// registerOrReuse registers c, or returns the equal collector already
// registered, so that two Builders on one registry share their series.
func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, err
}
