// Package relabel generates the Prometheus scrape configuration of a
// governed service with metric_relabel_configs that keep the fleet's
// series count bounded: series labelled with a known per-request value
// (user_id, request_id, trace_id, ...) are dropped, and the region label is
// folded into a region group.
//
// The runtime's cardinality guard bounds what a service exports; these
// rules are the fleet-side net for what it does not govern (a library's
// own metrics, a hand-registered collector).
//
// A series carrying a high-cardinality label is dropped whole rather than
// stripped of the label (labeldrop): stripping makes the series of
// different users identical, Prometheus keeps one sample per scrape and
// rejects the others as duplicates, and the remaining counter is silently
// wrong. A dropped series is visibly absent instead.
//
// Folding region is safe with labeldrop: region is a const label, equal on
// every series of a target, and the target's instance label keeps series of
// different replicas apart.
package relabel
