package govgen

import (
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/compiler/protogen"

	"github.com/govkit/govern/runtime/policy"
)

const (
	policyPackage = protogen.GoImportPath("github.com/govkit/govern/runtime/policy")
	timePackage   = protogen.GoImportPath("time")
	codesPackage  = protogen.GoImportPath("google.golang.org/grpc/codes")
)

func policyVarName(s *protogen.Service) string { return s.GoName + "Policy" }

// methodPolicyVar is the unexported variable holding one method's policy;
// the table and the routes point at it.
func methodPolicyVar(m *protogen.Method) string {
	return "_" + m.Parent.GoName + "_" + m.GoName + "_policy"
}

// genPolicyTable emits SvcPolicy: the resolved policy of every method of
// the service as a policy.Table with typed values, so nothing is parsed at
// run time. Each method's policy is its own variable: the table and the
// routes share the pointer, and small declarations keep gofmt (which
// protogen runs on the output) fast on large services.
func genPolicyTable(g *protogen.GeneratedFile, sm *serviceModel) {
	s := sm.service
	name := policyVarName(s)
	g.P("// ", name, " is the resolved governance policy of ", s.Desc.FullName(), ",")
	g.P("// keyed by full method name. Pass it to the govern runtime; every value is")
	g.P("// already resolved (method > service > file > tier defaults > built-ins).")
	g.P("var ", name, " = ", policyPackage.Ident("Table"), "{")
	for _, mm := range sm.methods {
		g.P(strconv.Quote(mm.policy.FullMethod), ": ", methodPolicyVar(mm.method), ",")
	}
	g.P("}")
	g.P()
	for _, mm := range sm.methods {
		genMethodPolicy(g, mm)
	}
}

func genMethodPolicy(g *protogen.GeneratedFile, mm *methodModel) {
	p := mm.policy
	g.P("var ", methodPolicyVar(mm.method), " = &", policyPackage.Ident("Method"), "{")
	g.P("FullMethod: ", strconv.Quote(p.FullMethod), ",")
	g.P("Service: ", strconv.Quote(p.Service), ",")
	g.P("Name: ", strconv.Quote(p.Name), ",")
	if p.ClientStreaming {
		g.P("ClientStreaming: true,")
	}
	if p.ServerStreaming {
		g.P("ServerStreaming: true,")
	}
	if p.Disabled {
		g.P("Disabled: true,")
	}
	if p.Tier != policy.TierUnspecified {
		g.P("Tier: ", tierIdent(p.Tier), ",")
	}
	if p.Timeout != 0 {
		pDuration(g, "Timeout", p.Timeout)
	}
	g.P("Sampling: ", floatLit(p.Sampling), ",")
	switch p.IdempotencyLevel {
	case policy.NoSideEffects:
		g.P("IdempotencyLevel: ", policyPackage.Ident("NoSideEffects"), ",")
	case policy.Idempotent:
		g.P("IdempotencyLevel: ", policyPackage.Ident("Idempotent"), ",")
	}
	// Sub-policies are one line each: compact, and cheap for the gofmt pass
	// protogen runs (nested multi-line literals are re-measured at every
	// level).
	if id := p.Idempotency; id != nil {
		var l literal
		if id.Required {
			l.field("Required", "true")
		}
		if len(id.KeyFields) > 0 {
			l.field("KeyFields", stringSlice(id.KeyFields))
			l.field("Key", keyAdapterName(mm.method))
		}
		l.field("TTL", durationExpr(id.TTL)...)
		l.field("Lease", durationExpr(id.Lease)...)
		l.print(g, "Idempotency", policyPackage.Ident("Idempotency"))
	}
	if r := p.Retry; r != nil {
		var l literal
		l.field("MaxAttempts", strconv.Itoa(r.MaxAttempts))
		l.field("InitialBackoff", durationExpr(r.InitialBackoff)...)
		l.field("MaxBackoff", durationExpr(r.MaxBackoff)...)
		l.field("Multiplier", floatLit(r.Multiplier))
		codeList := []any{"[]", codesPackage.Ident("Code"), "{"}
		for i, c := range r.Codes {
			if i > 0 {
				codeList = append(codeList, ", ")
			}
			codeList = append(codeList, codeIdent(c))
		}
		l.field("Codes", append(codeList, "}")...)
		if r.Adaptive {
			l.field("Adaptive", "true")
		}
		if r.RTTBaseline != 0 {
			l.field("RTTBaseline", durationExpr(r.RTTBaseline)...)
		}
		l.print(g, "Retry", policyPackage.Ident("Retry"))
	}
	if rl := p.RateLimit; rl != nil {
		var l literal
		l.field("RPS", floatLit(rl.RPS))
		l.field("Burst", strconv.Itoa(rl.Burst))
		if rl.Scope == policy.ScopeDistributed {
			l.field("Scope", policyPackage.Ident("ScopeDistributed"))
		}
		l.print(g, "RateLimit", policyPackage.Ident("RateLimit"))
	}
	if cb := p.CircuitBreaker; cb != nil {
		var l literal
		l.field("FailureRatio", floatLit(cb.FailureRatio))
		l.field("MinRequests", strconv.FormatUint(uint64(cb.MinRequests), 10))
		l.field("Window", durationExpr(cb.Window)...)
		l.field("OpenFor", durationExpr(cb.OpenFor)...)
		l.field("HalfOpenRequests", strconv.FormatUint(uint64(cb.HalfOpenRequests), 10))
		l.print(g, "CircuitBreaker", policyPackage.Ident("CircuitBreaker"))
	}
	g.P("}")
	g.P()
}

func tierIdent(t policy.Tier) protogen.GoIdent {
	switch t {
	case policy.TierGold:
		return policyPackage.Ident("TierGold")
	case policy.TierSilver:
		return policyPackage.Ident("TierSilver")
	case policy.TierBronze:
		return policyPackage.Ident("TierBronze")
	}
	return policyPackage.Ident("TierUnspecified")
}

// codeIdent names a codes.Code constant; codes.Code's String is its Go name.
func codeIdent(c codes.Code) protogen.GoIdent {
	return codesPackage.Ident(c.String())
}

// durationExpr writes d in the largest exact unit: 800 * time.Millisecond.
func durationExpr(d time.Duration) []any {
	units := []struct {
		d    time.Duration
		name string
	}{
		{time.Hour, "Hour"}, {time.Minute, "Minute"}, {time.Second, "Second"},
		{time.Millisecond, "Millisecond"}, {time.Microsecond, "Microsecond"},
	}
	for _, u := range units {
		if d%u.d == 0 {
			if d == u.d {
				return []any{timePackage.Ident(u.name)}
			}
			return []any{strconv.FormatInt(int64(d/u.d), 10), " * ", timePackage.Ident(u.name)}
		}
	}
	return []any{strconv.FormatInt(int64(d), 10), " * ", timePackage.Ident("Nanosecond")}
}

func floatLit(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func stringSlice(ss []string) string {
	out := "[]string{"
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += strconv.Quote(s)
	}
	return out + "}"
}

// pDuration writes one "Name: <duration expression>," line.
func pDuration(g *protogen.GeneratedFile, name string, d time.Duration) {
	g.P(append(append([]any{name, ": "}, durationExpr(d)...), ",")...)
}

// literal collects the fields of a one-line composite literal.
type literal struct{ parts []any }

func (l *literal) field(name string, value ...any) {
	if len(l.parts) > 0 {
		l.parts = append(l.parts, ", ")
	}
	l.parts = append(append(l.parts, name, ": "), value...)
}

// print writes "name: &typ{fields},".
func (l *literal) print(g *protogen.GeneratedFile, name string, typ protogen.GoIdent) {
	g.P(append(append([]any{name, ": &", typ, "{"}, l.parts...), "},")...)
}
