package configcheck

import (
	"go.yaml.in/yaml/v3"

	"github.com/govkit/govern/runtime/governance"
)

var groupsKeys = []string{"header", "values"}

// checkGroups validates the `groups` entry, the traffic groups that split
// breakers and rate limits (governance.WithTrafficGroups):
//
//	groups:
//	  header: x-canary
//	  values: ["true"]
//
// with the rules of governance.ValidateTrafficGroups, each finding on the
// line of the part it is about.
func (c *checker) checkGroups(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		c.errorf(n.Line, "groups must be a mapping such as `groups: {header: x-canary, values: [\"true\"]}`")
		return
	}
	f := c.mapping(n, groupsKeys, "groups")
	header, hasHeader := f["header"]
	if !hasHeader || header.Kind != yaml.ScalarNode {
		c.errorf(n.Line, "groups needs a header: add `header: x-canary` (the request header whose value names the group)")
		return
	}
	if err := governance.ValidateTrafficGroups(header.Value, []string{"placeholder"}); err != nil {
		c.errorf(header.Line, "groups: %v", err)
		return
	}
	values, hasValues := f["values"]
	if !hasValues || values.Kind != yaml.SequenceNode {
		c.errorf(n.Line, "groups needs values: add `values: [\"true\"]` (the header values that get their own breakers and limits)")
		return
	}
	var declared []string
	for _, v := range values.Content {
		if v.Kind != yaml.ScalarNode {
			c.errorf(v.Line, "groups: every value must be a string such as \"true\"")
			return
		}
		declared = append(declared, v.Value)
		if err := governance.ValidateTrafficGroups(header.Value, declared); err != nil {
			c.errorf(v.Line, "groups: %v", err)
			return
		}
	}
	if err := governance.ValidateTrafficGroups(header.Value, declared); err != nil {
		c.errorf(values.Line, "groups: %v", err)
	}
}
