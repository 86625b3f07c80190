package oasgov

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/govkit/govern/internal/govgen"
	governv1 "github.com/govkit/govern/proto/govern/v1"
)

// Extension is the name of the OpenAPI extension holding a policy.
const Extension = "x-govern"

// GRPCMethodField is the operation-level x-govern field naming the gRPC
// method ("/pkg.Service/Method") whose limits, breaker and idempotency
// keys the operation shares. It is not a govern.v1.Policy field.
const GRPCMethodField = "grpc_method"

// IdempotencyLevelField is the operation-level x-govern field declaring
// descriptor.proto's idempotency_level (IDEMPOTENT, NO_SIDE_EFFECTS or
// IDEMPOTENCY_UNKNOWN) where the HTTP method says otherwise, such as a
// POST that is idempotent. It is not a govern.v1.Policy field.
const IdempotencyLevelField = "idempotency_level"

// locations maps source paths (a scope's path followed by govern.v1 field
// numbers) to the YAML nodes that declared them.
type locations map[string]*yaml.Node

func pathKey(path []int32) string {
	var b strings.Builder
	for i, p := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(int(p)))
	}
	return b.String()
}

// locate returns the position of the closest recorded ancestor of path.
func (l locations) locate(path []int32) (line, col int) {
	for n := len(path); n > 0; n-- {
		if node := l[pathKey(path[:n])]; node != nil {
			return node.Line, node.Column
		}
	}
	return 1, 1
}

// decoder turns x-govern YAML nodes into govern.v1 messages, recording
// where each field was written and reporting every value that does not fit
// its field.
type decoder struct {
	diag *govgen.Diagnoser
	locs locations
	// spot numbers the paths of problems located at one node rather than
	// at a field (errorAt).
	spot int32
}

// policy decodes one x-govern object declared at path. extra names fields
// the level accepts beyond govern.v1.Policy; their value nodes are
// returned by name.
func (dec *decoder) policy(n *yaml.Node, path []int32, extra ...string) (*governv1.Policy, map[string]*yaml.Node) {
	n = deref(n)
	dec.locs[pathKey(path)] = n
	p := &governv1.Policy{}
	extras := map[string]*yaml.Node{}
	dec.message(n, p.ProtoReflect(), path, Extension, extra, extras)
	return p, extras
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func fieldNames(md protoreflect.MessageDescriptor, extra []string) string {
	names := make([]string, 0, md.Fields().Len()+len(extra))
	for i := range md.Fields().Len() {
		names = append(names, string(md.Fields().Get(i).Name()))
	}
	return strings.Join(append(names, extra...), ", ")
}

func (dec *decoder) message(n *yaml.Node, m protoreflect.Message, path []int32, where string, extra []string, extras map[string]*yaml.Node) {
	md := m.Descriptor()
	if n == nil || n.Kind != yaml.MappingNode {
		dec.diag.Errorf(path, "%s must be an object with fields such as %s", where, fieldNames(md, extra))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		name := k.Value
		if slices.Contains(extra, name) {
			extras[name] = v
			continue
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			fd = md.Fields().ByJSONName(name)
		}
		if fd == nil {
			dec.errorAt(k, path, "%s has no field %q: use one of %s", where, name, fieldNames(md, extra))
			continue
		}
		fpath := append(slices.Clone(path), int32(fd.Number()))
		fname := where + "." + string(fd.Name())
		if where == Extension {
			fname = string(fd.Name())
		}
		if seen[string(fd.Name())] {
			dec.errorAt(k, fpath, "%s sets %s twice: keep one", where, fd.Name())
			continue
		}
		seen[string(fd.Name())] = true
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			continue
		}
		dec.locs[pathKey(fpath)] = v
		dec.field(v, m, fd, fpath, fname)
	}
}

// errorAt reports a problem at node n, recorded under a path of its own so
// two problems of one field keep their positions.
func (dec *decoder) errorAt(n *yaml.Node, path []int32, format string, args ...any) {
	dec.spot++
	p := append(slices.Clone(path), math.MinInt32+dec.spot)
	dec.locs[pathKey(p)] = n
	dec.diag.Errorf(p, format, args...)
}

func (dec *decoder) field(v *yaml.Node, m protoreflect.Message, fd protoreflect.FieldDescriptor, path []int32, name string) {
	if fd.IsList() {
		if v.Kind != yaml.SequenceNode {
			dec.errorAt(v, path, "%s must be a list, such as [%q]", name, "client_id")
			return
		}
		list := m.Mutable(fd).List()
		for i, item := range v.Content {
			item = deref(item)
			ipath := append(slices.Clone(path), int32(i))
			dec.locs[pathKey(ipath)] = item
			if val, ok := dec.scalar(item, fd, ipath, name); ok {
				list.Append(val)
			}
		}
		return
	}
	if fd.Kind() == protoreflect.MessageKind {
		dec.message(v, m.Mutable(fd).Message(), path, name, nil, nil)
		return
	}
	if val, ok := dec.scalar(v, fd, path, name); ok {
		m.Set(fd, val)
	}
}

func (dec *decoder) scalar(v *yaml.Node, fd protoreflect.FieldDescriptor, path []int32, name string) (protoreflect.Value, bool) {
	if v.Kind != yaml.ScalarNode {
		dec.errorAt(v, path, "%s must be a single value, not a %s", name, kindName(v))
		return protoreflect.Value{}, false
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		// Any scalar: a duration written as a number ("timeout: 5") is
		// then reported as a bad duration, which names the fix.
		return protoreflect.ValueOfString(v.Value), true
	case protoreflect.BoolKind:
		var b bool
		if v.Tag != "!!bool" || v.Decode(&b) != nil {
			dec.errorAt(v, path, "%s %q must be true or false", name, v.Value)
			return protoreflect.Value{}, false
		}
		return protoreflect.ValueOfBool(b), true
	case protoreflect.DoubleKind:
		f, err := strconv.ParseFloat(v.Value, 64)
		if (v.Tag != "!!int" && v.Tag != "!!float") || err != nil {
			dec.errorAt(v, path, "%s %q must be a number, such as 0.5", name, v.Value)
			return protoreflect.Value{}, false
		}
		return protoreflect.ValueOfFloat64(f), true
	case protoreflect.Uint32Kind:
		u, err := strconv.ParseUint(v.Value, 10, 32)
		if v.Tag != "!!int" || err != nil {
			dec.errorAt(v, path, "%s %q must be a whole number from 0 to %d", name, v.Value, uint32(math.MaxUint32))
			return protoreflect.Value{}, false
		}
		return protoreflect.ValueOfUint32(uint32(u)), true
	case protoreflect.EnumKind:
		ev := fd.Enum().Values().ByName(protoreflect.Name(v.Value))
		if ev == nil || ev.Number() == 0 && strings.HasSuffix(v.Value, "UNSPECIFIED") {
			var names []string
			for i := range fd.Enum().Values().Len() {
				if n := fd.Enum().Values().Get(i); n.Number() != 0 || !strings.HasSuffix(string(n.Name()), "UNSPECIFIED") {
					names = append(names, string(n.Name()))
				}
			}
			dec.errorAt(v, path, "%s %q is not a known value: use one of %s", name, v.Value, strings.Join(names, ", "))
			return protoreflect.Value{}, false
		}
		return protoreflect.ValueOfEnum(ev.Number()), true
	}
	dec.errorAt(v, path, "%s has a type x-govern cannot read", name)
	return protoreflect.Value{}, false
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}
