package configcheck

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/govkit/govern/runtime/discovery"
)

// Registries are the discovery backends a config may name.
var Registries = []string{"etcd", "consul", "dns"}

var discoveryKeys = []string{"registry", "endpoints", "ttl", "datacenter", "domain", "advertise", "colour", "probe", "min_local_fraction"}

// checkDiscovery validates the discovery block:
//
//	discovery:
//	  registry: etcd            # etcd | consul | dns
//	  endpoints: [127.0.0.1:2379]
//	  ttl: 10s                  # etcd lease / consul TTL check
//	  advertise: 10.0.0.7:9090  # the address registered (default: listen.grpc)
//	  colour: canary
//	  probe: {interval: 5s, timeout: 800ms}
//	  min_local_fraction: 0.5
func (c *checker) checkDiscovery(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		c.errorf(n.Line, "discovery must be a mapping with registry and endpoints, such as `discovery: {registry: etcd, endpoints: [127.0.0.1:2379]}`")
		return
	}
	f := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(discoveryKeys, k.Value) {
			c.errorf(k.Line, "unknown discovery key %q: remove it or fix the spelling (known: %s)", k.Value, strings.Join(discoveryKeys, ", "))
			continue
		}
		if _, dup := f[k.Value]; dup {
			c.errorf(k.Line, "key %q is repeated in discovery: keep one", k.Value)
			continue
		}
		f[k.Value] = v
	}
	reg, ok := f["registry"]
	if !ok {
		c.errorf(n.Line, "discovery has no registry: add `registry: etcd` (or consul, dns), or remove the block to dial fixed addresses")
		return
	}
	if !slices.Contains(Registries, reg.Value) {
		c.errorf(reg.Line, "unknown registry %q: use one of %s", reg.Value, strings.Join(Registries, ", "))
	}
	eps, ok := f["endpoints"]
	switch {
	case !ok:
		c.errorf(n.Line, "discovery has no endpoints: add `endpoints: [host:port]`, the %s address(es) to use", reg.Value)
	case eps.Kind != yaml.SequenceNode || len(eps.Content) == 0:
		c.errorf(eps.Line, "discovery endpoints must be a non-empty list of host:port addresses, such as [127.0.0.1:2379]")
	default:
		for _, e := range eps.Content {
			if err := checkHostPort(e.Value); err != nil {
				c.errorf(e.Line, "registry endpoint %q: %v", e.Value, err)
			} else if c.settings.dial != nil {
				if err := c.settings.dial(hostPort(e.Value)); err != nil {
					c.errorf(e.Line, "registry endpoint %q is unreachable (%v): start the %s there, fix the address, or check the network", e.Value, err, reg.Value)
				}
			}
		}
	}
	if reg.Value == "dns" && len(eps.Content) > 1 {
		c.warnf(eps.Line, "the dns registry asks one server; only the first endpoint is used")
	}
	if a, ok := f["advertise"]; ok {
		if err := checkHostPort(a.Value); err != nil || strings.Contains(a.Value, "://") {
			c.errorf(a.Line, "advertise %q must be the host:port clients dial, such as 10.0.0.7:9090", a.Value)
		} else if host, _, _ := net.SplitHostPort(a.Value); host == "" || host == "0.0.0.0" || host == "::" {
			c.errorf(a.Line, "advertise %q has no routable host: write the instance's own address, not a wildcard", a.Value)
		}
	}
	if col, ok := f["colour"]; ok && !discovery.ValidLabel(col.Value) {
		c.errorf(col.Line, "colour %q is not a valid label: use lower-case letters, digits and dashes, such as canary", col.Value)
	}
	if ttl, ok := f["ttl"]; ok {
		d, err := time.ParseDuration(ttl.Value)
		switch {
		case err != nil || d <= 0:
			c.errorf(ttl.Line, "discovery ttl %q is not a positive duration: write it like 10s", ttl.Value)
		case reg.Value == "etcd" && (d < 2*time.Second || d%time.Second != 0):
			c.errorf(ttl.Line, "etcd ttl %s: leases count whole seconds, use 2s or more such as 10s", d)
		}
	}
	if p, ok := f["probe"]; ok {
		c.checkProbe(p)
	}
	if mf, ok := f["min_local_fraction"]; ok {
		v, err := strconv.ParseFloat(mf.Value, 64)
		if err != nil || v < 0 || v > 1 {
			c.errorf(mf.Line, "min_local_fraction %q must be a ratio in [0,1], such as 0.5", mf.Value)
		}
	}
	if reg.Value == "dns" {
		for _, k := range []string{"ttl", "advertise"} {
			if n, ok := f[k]; ok {
				c.warnf(n.Line, "%s has no effect with the dns registry: DNS has no registration side", k)
			}
		}
	}
}

func (c *checker) checkProbe(p *yaml.Node) {
	if p.Kind != yaml.MappingNode {
		c.errorf(p.Line, "probe must be a mapping such as {interval: 5s, timeout: 800ms}")
		return
	}
	pf := c.mapping(p, []string{"interval", "timeout"}, "probe")
	var vals [2]time.Duration
	for i, k := range []string{"interval", "timeout"} {
		if n, ok := pf[k]; ok {
			d, err := time.ParseDuration(n.Value)
			if err != nil || d <= 0 {
				c.errorf(n.Line, "probe %s %q is not a positive duration: write it like 5s or 800ms", k, n.Value)
				continue
			}
			vals[i] = d
		}
	}
	if vals[0] > 0 && vals[1] > vals[0] {
		c.errorf(pf["timeout"].Line, "probe timeout %s exceeds the interval %s: lower it (the guide uses 800ms every 5s)", vals[1], vals[0])
	}
}

// hostPort strips a URL scheme (etcd endpoints are often written as URLs).
func hostPort(s string) string {
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		return u.Host
	}
	return s
}

func checkHostPort(s string) error {
	hp := hostPort(s)
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return fmt.Errorf("not host:port: write it like 127.0.0.1:2379")
	}
	if host == "" {
		return fmt.Errorf("the host is empty: write it like 127.0.0.1:2379")
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return fmt.Errorf("the port %q is not a number in 1-65535", port)
	}
	return nil
}
