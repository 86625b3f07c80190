// Package dns is the DNS SRV backend of runtime/discovery, on
// github.com/miekg/dns: it resolves _grpc._tcp.<service>[.<domain>] against a
// chosen DNS server and re-resolves when the answer's TTL runs out (never
// sooner than a floor), surviving what operator resolvers do to answers.
//
// Why our own lookups rather than net.Resolver: the standard resolver hides
// what this package must see and decide. It turns a truncated answer, a
// header-less reply, a hijacked NXDOMAIN and a malformed record alike into
// an error or an empty list, and it drops TTLs. Here:
//
//   - a truncated UDP answer (TC bit) is asked again over TCP;
//   - a reply shorter than a DNS header, a reply that does not answer the
//     question, or one whose RDATA does not parse is rejected (an error: the
//     resolver keeps its last known endpoints), never a panic — the reply
//     parser is fuzzed;
//   - NXDOMAIN or an empty answer for a name that had records is treated as
//     bogus (operator DNS hijacking answers NXDOMAIN or a search page) for a
//     bounded time (WithMaxStale, default 5 minutes): the last good set is
//     kept and the answer counted in govern_discovery_dns_bogus_answers_total;
//     only when the name stays empty for longer is it believed;
//   - TTL 0 (and any TTL under WithMinTTL, default 1 s) is raised to the
//     floor, so a resolver that strips TTLs cannot make every client poll in
//     a loop.
//
// SRV carries no region or colour. WithRegion sets the region of every
// endpoint a Registry resolves (one DNS zone per region is the common
// layout), and WithLabeler derives region and colour from the SRV target
// name when the zone encodes them.
package dns
