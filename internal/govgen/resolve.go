package govgen

import (
	"math"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	governv1 "github.com/govkit/govern/proto/govern/v1"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/serviceconfig"
)

// Built-in defaults, applied when no scope sets a field. docs/plugin.md
// documents them; change both together.
const (
	DefaultIdempotencyTTL     = 24 * time.Hour
	MinIdempotencyLease       = 10 * time.Second
	DefaultRetryMaxAttempts   = 3
	DefaultRetryInitial       = 100 * time.Millisecond
	DefaultRetryMax           = time.Second
	DefaultAdaptiveRetryMax   = 2 * time.Second
	DefaultRetryMultiplier    = 2.0
	DefaultBreakerRatio       = 0.5
	DefaultBreakerMinRequests = 20
	DefaultBreakerWindow      = 10 * time.Second
	DefaultBreakerOpenFor     = 5 * time.Second
	DefaultBreakerHalfOpen    = 1
	// MaxRetryAttempts is gRPC's cap on attempts (gRFC A6).
	MaxRetryAttempts = 5
)

// Field numbers of descriptor.proto and govern.proto used to build source
// paths for diagnostics.
const (
	fileServiceField    = 6
	fileOptionsField    = 8
	serviceMethodField  = 2
	serviceOptionsField = 3
	methodOptionsField  = 4
	extensionField      = 50613

	policyTier           = 1
	policyTimeout        = 2
	policyIdempotency    = 3
	policyRetry          = 4
	policyRateLimit      = 5
	policyCircuitBreaker = 6
	policySampling       = 7
	policyDisabled       = 8

	idemRequired  = 1
	idemKeyFields = 2
	idemTTL       = 3
	idemLease     = 4

	retryMaxAttempts = 1
	retryInitial     = 2
	retryMax         = 3
	retryMultiplier  = 4
	retryCodes       = 5
	retryAdaptive    = 6
	retryRTTBaseline = 7

	rateRPS   = 1
	rateBurst = 2
	rateScope = 3

	cbRatio       = 1
	cbMinRequests = 2
	cbWindow      = 3
	cbOpenFor     = 4
	cbHalfOpen    = 5
)

// Scope is the policy declared at one level of an API definition, with the
// source path of its declaration so problems can be located. Proto files
// declare it as options; OpenAPI documents as x-govern objects (top level =
// file, path item = service, operation = method).
type Scope struct {
	// Level is "file", "service" or "method".
	Level string
	// Policy is the declared policy; nil when the level declares none.
	Policy *governv1.Policy
	// Path locates the declaration; field numbers of govern.v1 messages
	// are appended to it to locate a field.
	Path []int32
}

// fileModel is everything generated for one proto file.
type fileModel struct {
	file     *protogen.File
	services []*serviceModel
}

type serviceModel struct {
	service *protogen.Service
	// path is the service's source path, for diagnostics.
	path    []int32
	methods []*methodModel
	// table is the resolved policy, as the generated code will declare it
	// (without the key functions, which exist only in generated code).
	table policy.Table
}

func (s *serviceModel) hasRoutes() bool {
	for _, m := range s.methods {
		if len(m.routes) > 0 {
			return true
		}
	}
	return false
}

type methodModel struct {
	method *protogen.Method
	// path is the method's source path and timeoutAt the path of the
	// timeout it resolved to (nil when no scope sets one), for diagnostics.
	path      []int32
	timeoutAt []int32
	policy    *policy.Method
	keys      []keyPath
	routes    []policy.Route
}

// resolveFile resolves and validates the policies of every method of f.
func resolveFile(f *protogen.File) (*fileModel, Diagnostics) {
	d := newDiagnostics(f)
	fm := &fileModel{file: f}
	fileScope := Scope{Level: "file", Path: []int32{fileOptionsField, extensionField}}
	if opts, ok := f.Desc.Options().(*descriptorpb.FileOptions); ok && proto.HasExtension(opts, governv1.E_File) {
		fileScope.Policy = proto.GetExtension(opts, governv1.E_File).(*governv1.Policy)
	}
	checkPolicy(d, fileScope)
	for si, svc := range f.Services {
		svcPath := []int32{fileServiceField, int32(si)}
		svcScope := Scope{Level: "service", Path: join(svcPath, serviceOptionsField, extensionField)}
		if opts, ok := svc.Desc.Options().(*descriptorpb.ServiceOptions); ok && proto.HasExtension(opts, governv1.E_Service) {
			svcScope.Policy = proto.GetExtension(opts, governv1.E_Service).(*governv1.Policy)
		}
		checkPolicy(d, svcScope)
		sm := &serviceModel{service: svc, path: svcPath, table: policy.Table{}}
		for mi, m := range svc.Methods {
			methodPath := join(svcPath, serviceMethodField, int32(mi))
			mScope := Scope{Level: "method", Path: join(methodPath, methodOptionsField, extensionField)}
			opts, _ := m.Desc.Options().(*descriptorpb.MethodOptions)
			if opts != nil && proto.HasExtension(opts, governv1.E_Method) {
				mScope.Policy = proto.GetExtension(opts, governv1.E_Method).(*governv1.Policy)
			}
			checkPolicy(d, mScope)
			mm := resolveMethod(d, m, opts, []Scope{mScope, svcScope, fileScope})
			mm.path = methodPath
			mm.routes = httpRoutes(d, m, join(methodPath, methodOptionsField))
			sm.methods = append(sm.methods, mm)
			sm.table[mm.policy.FullMethod] = mm.policy
		}
		fm.services = append(fm.services, sm)
	}
	return fm, d.sorted()
}

// pick returns the value of the most specific scope that sets a field.
func pick[T any](scopes []Scope, get func(*governv1.Policy) *T, sub ...int32) (v T, at []int32, ok bool) {
	for _, s := range scopes {
		if s.Policy == nil {
			continue
		}
		if p := get(s.Policy); p != nil {
			return *p, join(s.Path, sub...), true
		}
	}
	return v, nil, false
}

// block returns the most specific scope declaring a sub-message.
func block(scopes []Scope, has func(*governv1.Policy) bool) (Scope, bool) {
	for _, s := range scopes {
		if s.Policy != nil && has(s.Policy) {
			return s, true
		}
	}
	return Scope{}, false
}

func idem[T any](f func(*governv1.Idempotency) *T) func(*governv1.Policy) *T {
	return func(p *governv1.Policy) *T {
		if p.Idempotency == nil {
			return nil
		}
		return f(p.Idempotency)
	}
}

func retry[T any](f func(*governv1.Retry) *T) func(*governv1.Policy) *T {
	return func(p *governv1.Policy) *T {
		if p.Retry == nil {
			return nil
		}
		return f(p.Retry)
	}
}

func rate[T any](f func(*governv1.RateLimit) *T) func(*governv1.Policy) *T {
	return func(p *governv1.Policy) *T {
		if p.RateLimit == nil {
			return nil
		}
		return f(p.RateLimit)
	}
}

func breaker[T any](f func(*governv1.CircuitBreaker) *T) func(*governv1.Policy) *T {
	return func(p *governv1.Policy) *T {
		if p.CircuitBreaker == nil {
			return nil
		}
		return f(p.CircuitBreaker)
	}
}

// pickDuration resolves a duration field; values that do not parse were
// already reported by checkPolicy and resolve to def.
func pickDuration(scopes []Scope, get func(*governv1.Policy) *string, def time.Duration, sub ...int32) (time.Duration, []int32, bool) {
	s, at, ok := pick(scopes, get, sub...)
	if !ok {
		return def, nil, false
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return def, at, false
	}
	return d, at, true
}

func resolveMethod(d *diagnostics, m *protogen.Method, opts *descriptorpb.MethodOptions, scopes []Scope) *methodModel {
	desc := m.Desc
	mm := &methodModel{method: m}
	op := Operation{
		FullMethod:      "/" + string(m.Parent.Desc.FullName()) + "/" + string(desc.Name()),
		Service:         string(m.Parent.Desc.FullName()),
		Name:            string(desc.Name()),
		ClientStreaming: desc.IsStreamingClient(),
		ServerStreaming: desc.IsStreamingServer(),
		RetryFix:        "add `option idempotency_level = IDEMPOTENT;` (or NO_SIDE_EFFECTS), add an idempotency block, or remove the retry",
		KeyField: func(at []int32, path string) bool {
			kp, ok := resolveKeyPath(d, at, m, path)
			if ok {
				mm.keys = append(mm.keys, kp)
			}
			return ok
		},
	}
	switch opts.GetIdempotencyLevel() {
	case descriptorpb.MethodOptions_NO_SIDE_EFFECTS:
		op.IdempotencyLevel = policy.NoSideEffects
	case descriptorpb.MethodOptions_IDEMPOTENT:
		op.IdempotencyLevel = policy.Idempotent
	}
	mm.policy, mm.timeoutAt = resolvePolicy(d, op, scopes)
	return mm
}

// Operation is what the resolver needs to know about one method or HTTP
// operation, whichever definition language declared it.
type Operation struct {
	// FullMethod keys the policy table: "/pkg.Service/Method" for gRPC,
	// the operationId for OpenAPI.
	FullMethod, Service, Name        string
	ClientStreaming, ServerStreaming bool
	// IdempotencyLevel is descriptor.proto's option, or what the HTTP
	// method implies (GET/HEAD/OPTIONS no side effects, PUT/DELETE
	// idempotent).
	IdempotencyLevel policy.IdempotencyLevel
	// RetryFix ends the message reporting a retry on an operation that is
	// not retry-safe, in the words of the definition language.
	RetryFix string
	// KeyField validates one idempotency.key_fields path declared at at,
	// reporting what is wrong with it; it returns false for an invalid one.
	KeyField func(at []int32, path string) bool
}

// ResolvePolicy resolves op's policy from its scopes, most specific first
// (method, service, file), field by field, then tier and built-in
// defaults, reporting problems that depend on the combination (retry on a
// method that is not retry-safe, lease not above timeout, bad key fields).
// Run CheckPolicy once per scope for the problems of single values.
func ResolvePolicy(x *Diagnoser, op Operation, scopes []Scope) *policy.Method {
	pm, _ := resolvePolicy(x.d, op, scopes)
	return pm
}

// CheckPolicy reports the problems of the values one scope declares.
func CheckPolicy(x *Diagnoser, s Scope) { checkPolicy(x.d, s) }

// resolvePolicy also returns the source path of the timeout the policy
// resolved to (nil when no scope sets one).
func resolvePolicy(d *diagnostics, op Operation, scopes []Scope) (pm *policy.Method, timeoutAt []int32) {
	pm = &policy.Method{
		FullMethod:       op.FullMethod,
		Service:          op.Service,
		Name:             op.Name,
		ClientStreaming:  op.ClientStreaming,
		ServerStreaming:  op.ServerStreaming,
		IdempotencyLevel: op.IdempotencyLevel,
	}

	pm.Disabled, _, _ = pick(scopes, func(p *governv1.Policy) *bool { return p.Disabled }, policyDisabled)
	if t, _, ok := pick(scopes, func(p *governv1.Policy) *governv1.Tier { return p.Tier }, policyTier); ok {
		pm.Tier = tierOf(t)
	}
	pm.Timeout, timeoutAt, _ = pickDuration(scopes, func(p *governv1.Policy) *string { return p.Timeout }, 0, policyTimeout)
	pm.Sampling = pm.Tier.DefaultSampling()
	if s, _, ok := pick(scopes, func(p *governv1.Policy) *float64 { return p.Sampling }, policySampling); ok && s >= 0 && s <= 1 {
		pm.Sampling = s
	}

	// Idempotency. Declared on the method it must fit the method; inherited
	// from the service or file it applies only where it can.
	if is, ok := block(scopes, func(p *governv1.Policy) bool { return p.Idempotency != nil }); ok {
		streamingIn := pm.ClientStreaming
		switch {
		case streamingIn && is.Level == "method":
			kind := "client-streaming"
			if pm.ServerStreaming {
				kind = "bidi-streaming"
			}
			d.errorf(join(is.Path, policyIdempotency), "idempotency on %s, a %s method: a stream of requests cannot be deduplicated; remove the idempotency block (unary and server-streaming methods support it)", op.Name, kind)
		case streamingIn:
			// Inherited: not applicable to a client or bidi stream.
		default:
			pm.Idempotency = resolveIdempotency(d, op, pm.Timeout, scopes)
		}
	}

	// Retry: only for methods that are safe to retry.
	if rs, ok := block(scopes, func(p *governv1.Policy) bool { return p.Retry != nil }); ok {
		switch {
		case !pm.RetrySafe() && rs.Level == "method":
			d.errorf(join(rs.Path, policyRetry), "retry on %s, which is not idempotent: a retried call could run its side effects twice; %s", op.Name, op.RetryFix)
		case !pm.RetrySafe():
			// Inherited: service / file retry defaults apply to retry-safe methods only.
		default:
			pm.Retry = resolveRetry(d, scopes, pm.Timeout)
		}
	}

	pm.RateLimit = resolveRateLimit(d, scopes, op.Name)
	pm.CircuitBreaker = resolveBreaker(scopes)
	return pm, timeoutAt
}

func resolveRateLimit(d *diagnostics, scopes []Scope, method string) *policy.RateLimit {
	rs, ok := block(scopes, func(p *governv1.Policy) bool { return p.RateLimit != nil })
	if !ok {
		return nil
	}
	rps, _, set := pick(scopes, rate(func(r *governv1.RateLimit) *float64 { return r.Rps }), policyRateLimit, rateRPS)
	if !set {
		d.errorf(join(rs.Path, policyRateLimit), "rate_limit on %s has no rps: set rate_limit.rps to the sustained requests per second (> 0), or remove rate_limit", method)
		return nil
	}
	if !validRPS(rps) {
		return nil // reported by checkPolicy where it is written
	}
	rl := &policy.RateLimit{RPS: rps, Burst: max(1, int(math.Ceil(rps)))}
	if b, _, ok := pick(scopes, rate(func(r *governv1.RateLimit) *uint32 { return r.Burst }), policyRateLimit, rateBurst); ok && b > 0 {
		rl.Burst = int(b)
	}
	if s, _, ok := pick(scopes, rate(func(r *governv1.RateLimit) *governv1.RateLimit_Scope { return r.Scope }), policyRateLimit, rateScope); ok && s == governv1.RateLimit_DISTRIBUTED {
		rl.Scope = policy.ScopeDistributed
	}
	return rl
}

// maxRPS bounds rate limits to values whose burst fits an int and that a
// limiter can meaningfully enforce.
const maxRPS = 1e9

func validRPS(rps float64) bool { return rps > 0 && rps <= maxRPS }

func resolveBreaker(scopes []Scope) *policy.CircuitBreaker {
	if _, ok := block(scopes, func(p *governv1.Policy) bool { return p.CircuitBreaker != nil }); !ok {
		return nil
	}
	cb := &policy.CircuitBreaker{
		FailureRatio:     DefaultBreakerRatio,
		MinRequests:      DefaultBreakerMinRequests,
		HalfOpenRequests: DefaultBreakerHalfOpen,
	}
	if r, _, ok := pick(scopes, breaker(func(c *governv1.CircuitBreaker) *float64 { return c.FailureRatio }), policyCircuitBreaker, cbRatio); ok && r >= 0 && r <= 1 {
		cb.FailureRatio = r
	}
	if n, _, ok := pick(scopes, breaker(func(c *governv1.CircuitBreaker) *uint32 { return c.MinRequests }), policyCircuitBreaker, cbMinRequests); ok {
		cb.MinRequests = n
	}
	if n, _, ok := pick(scopes, breaker(func(c *governv1.CircuitBreaker) *uint32 { return c.HalfOpenRequests }), policyCircuitBreaker, cbHalfOpen); ok && n > 0 {
		cb.HalfOpenRequests = n
	}
	cb.Window, _, _ = pickDuration(scopes, breaker(func(c *governv1.CircuitBreaker) *string { return c.Window }), DefaultBreakerWindow, policyCircuitBreaker, cbWindow)
	cb.OpenFor, _, _ = pickDuration(scopes, breaker(func(c *governv1.CircuitBreaker) *string { return c.OpenFor }), DefaultBreakerOpenFor, policyCircuitBreaker, cbOpenFor)
	if cb.Window == 0 { // "0s" is reported by checkPolicy
		cb.Window = DefaultBreakerWindow
	}
	if cb.OpenFor == 0 {
		cb.OpenFor = DefaultBreakerOpenFor
	}
	return cb
}

func resolveIdempotency(d *diagnostics, op Operation, timeout time.Duration, scopes []Scope) *policy.Idempotency {
	id := &policy.Idempotency{TTL: DefaultIdempotencyTTL, Lease: max(2*timeout, MinIdempotencyLease)}
	id.Required, _, _ = pick(scopes, idem(func(i *governv1.Idempotency) *bool { return i.Required }), policyIdempotency, idemRequired)
	if ttl, _, ok := pickDuration(scopes, idem(func(i *governv1.Idempotency) *string { return i.Ttl }), DefaultIdempotencyTTL, policyIdempotency, idemTTL); ok && ttl > 0 {
		id.TTL = ttl
	}
	if lease, at, ok := pickDuration(scopes, idem(func(i *governv1.Idempotency) *string { return i.Lease }), 0, policyIdempotency, idemLease); ok && lease > 0 {
		if timeout > 0 && lease <= timeout {
			d.errorf(at, "idempotency.lease %v of %s is not longer than its timeout %v: a slow call would lose its claim while still running and a retry would run it twice; raise the lease above the timeout (default max(2 x timeout, 10s))", lease, op.Name, timeout)
		}
		id.Lease = lease
	}
	for _, s := range scopes {
		if s.Policy.GetIdempotency() == nil || len(s.Policy.Idempotency.KeyFields) == 0 {
			continue
		}
		for i, path := range s.Policy.Idempotency.KeyFields {
			if op.KeyField(join(s.Path, policyIdempotency, idemKeyFields, int32(i)), path) {
				id.KeyFields = append(id.KeyFields, path)
			}
		}
		break
	}
	return id
}

func resolveRetry(d *diagnostics, scopes []Scope, timeout time.Duration) *policy.Retry {
	r := &policy.Retry{MaxAttempts: DefaultRetryMaxAttempts, Multiplier: DefaultRetryMultiplier}
	if n, _, ok := pick(scopes, retry(func(r *governv1.Retry) *uint32 { return r.MaxAttempts }), policyRetry, retryMaxAttempts); ok && n >= 2 && n <= MaxRetryAttempts {
		r.MaxAttempts = int(n)
	}
	if m, _, ok := pick(scopes, retry(func(r *governv1.Retry) *float64 { return r.Multiplier }), policyRetry, retryMultiplier); ok && m > 0 && !math.IsInf(m, 0) {
		r.Multiplier = m
	}
	r.Adaptive, _, _ = pick(scopes, retry(func(r *governv1.Retry) *bool { return r.Adaptive }), policyRetry, retryAdaptive)
	r.RTTBaseline, _, _ = pickDuration(scopes, retry(func(r *governv1.Retry) *string { return r.RttBaseline }), 0, policyRetry, retryRTTBaseline)

	initial, initialAt, initialSet := pickDuration(scopes, retry(func(r *governv1.Retry) *string { return r.InitialBackoff }), DefaultRetryInitial, policyRetry, retryInitial)
	if initial == 0 {
		initial, initialSet = DefaultRetryInitial, false
	}
	if timeout > 0 && initial > timeout {
		if initialSet {
			d.errorf(initialAt, "retry.initial_backoff %v is longer than the timeout %v: every retry would start after the deadline; lower initial_backoff below the timeout or raise the timeout", initial, timeout)
		} else {
			// The default backoff never exceeds the timeout.
			initial = timeout
		}
	}
	r.InitialBackoff = initial
	maxBackoff, maxAt, maxSet := pickDuration(scopes, retry(func(r *governv1.Retry) *string { return r.MaxBackoff }), 0, policyRetry, retryMax)
	switch {
	case maxSet && maxBackoff > 0 && maxBackoff < initial:
		d.errorf(maxAt, "retry.max_backoff %v is shorter than initial_backoff %v: raise max_backoff to at least the initial backoff", maxBackoff, initial)
		r.MaxBackoff = initial
	case maxSet && maxBackoff > 0:
		r.MaxBackoff = maxBackoff
	case r.Adaptive:
		// The field guide's cap for RTT-adaptive backoff (retry.DefaultMaxBackoff).
		r.MaxBackoff = max(DefaultAdaptiveRetryMax, initial)
	default:
		r.MaxBackoff = max(DefaultRetryMax, initial)
	}

	for _, s := range scopes {
		if s.Policy.GetRetry() == nil || len(s.Policy.Retry.Codes) == 0 {
			continue
		}
		for _, name := range s.Policy.Retry.Codes {
			if c, ok := serviceconfig.ParseCode(name); ok && c != codes.OK && !containsCode(r.Codes, c) {
				r.Codes = append(r.Codes, c)
			}
		}
		break
	}
	if len(r.Codes) == 0 {
		r.Codes = []codes.Code{codes.Unavailable}
	}
	return r
}

func containsCode(cs []codes.Code, c codes.Code) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

func tierOf(t governv1.Tier) policy.Tier {
	switch t {
	case governv1.Tier_TIER_GOLD:
		return policy.TierGold
	case governv1.Tier_TIER_SILVER:
		return policy.TierSilver
	case governv1.Tier_TIER_BRONZE:
		return policy.TierBronze
	}
	return policy.TierUnspecified
}

// checkPolicy validates the values one scope declares, independently of
// where they are inherited, so each bad value is reported once, where it is
// written.
func checkPolicy(d *diagnostics, s Scope) {
	p := s.Policy
	if p == nil {
		return
	}
	at := func(sub ...int32) []int32 { return join(s.Path, sub...) }
	if p.Tier != nil {
		if _, known := governv1.Tier_name[int32(*p.Tier)]; !known {
			d.errorf(at(policyTier), "tier %d is not a known tier: use TIER_GOLD, TIER_SILVER or TIER_BRONZE", int32(*p.Tier))
		}
	}
	checkDuration(d, at(policyTimeout), "timeout", p.Timeout, true)
	checkRatio(d, at(policySampling), "sampling", p.Sampling, "write a trace sampling ratio such as 0.1 for 10%, or remove it to use the tier default")
	if i := p.Idempotency; i != nil {
		checkDuration(d, at(policyIdempotency, idemTTL), "idempotency.ttl", i.Ttl, false)
		checkDuration(d, at(policyIdempotency, idemLease), "idempotency.lease", i.Lease, false)
		seen := map[string]bool{}
		for n, path := range i.KeyFields {
			if seen[path] {
				d.errorf(at(policyIdempotency, idemKeyFields, int32(n)), "idempotency.key_fields lists %q twice: remove the duplicate", path)
			}
			seen[path] = true
		}
	}
	if r := p.Retry; r != nil {
		if r.MaxAttempts != nil {
			switch n := *r.MaxAttempts; {
			case n > MaxRetryAttempts:
				d.errorf(at(policyRetry, retryMaxAttempts), "retry.max_attempts %d exceeds gRPC's cap of %d attempts: use 2 to %d", n, MaxRetryAttempts, MaxRetryAttempts)
			case n < 2:
				d.errorf(at(policyRetry, retryMaxAttempts), "retry.max_attempts %d allows no retry (it counts the first attempt): use 2 to %d, or remove the retry", n, MaxRetryAttempts)
			}
		}
		checkDuration(d, at(policyRetry, retryInitial), "retry.initial_backoff", r.InitialBackoff, false)
		checkDuration(d, at(policyRetry, retryMax), "retry.max_backoff", r.MaxBackoff, false)
		checkDuration(d, at(policyRetry, retryRTTBaseline), "retry.rtt_baseline", r.RttBaseline, false)
		if r.Multiplier != nil && (!(*r.Multiplier > 0) || math.IsInf(*r.Multiplier, 0)) {
			d.errorf(at(policyRetry, retryMultiplier), "retry.multiplier %v must be a number > 0: use e.g. 2 to double the backoff after each attempt", *r.Multiplier)
		}
		for n, name := range r.Codes {
			c, ok := serviceconfig.ParseCode(name)
			switch {
			case !ok:
				d.errorf(at(policyRetry, retryCodes, int32(n)), "retry.codes %q is not a gRPC status code name: use upper-case names such as UNAVAILABLE or RESOURCE_EXHAUSTED", name)
			case c == codes.OK:
				d.errorf(at(policyRetry, retryCodes, int32(n)), "retry.codes cannot retry OK: remove it")
			}
		}
	}
	if r := p.RateLimit; r != nil {
		switch {
		case r.Rps == nil:
		case !(*r.Rps > 0):
			d.errorf(at(policyRateLimit, rateRPS), "rate_limit.rps %v must be > 0: set the sustained requests per second, or remove rate_limit", *r.Rps)
		case *r.Rps > maxRPS:
			d.errorf(at(policyRateLimit, rateRPS), "rate_limit.rps %v exceeds %g, which no limiter enforces: remove rate_limit for an unlimited method", *r.Rps, maxRPS)
		}
		if r.Burst != nil && *r.Burst == 0 {
			d.errorf(at(policyRateLimit, rateBurst), "rate_limit.burst 0 would reject every call: use at least 1, or remove it for max(1, ceil(rps))")
		}
		if r.Scope != nil {
			if _, known := governv1.RateLimit_Scope_name[int32(*r.Scope)]; !known {
				d.errorf(at(policyRateLimit, rateScope), "rate_limit.scope %d is not a known scope: use LOCAL or DISTRIBUTED", int32(*r.Scope))
			}
		}
	}
	if c := p.CircuitBreaker; c != nil {
		checkRatio(d, at(policyCircuitBreaker, cbRatio), "circuit_breaker.failure_ratio", c.FailureRatio, "write the failure ratio that opens the breaker, such as 0.5")
		checkDuration(d, at(policyCircuitBreaker, cbWindow), "circuit_breaker.window", c.Window, false)
		checkDuration(d, at(policyCircuitBreaker, cbOpenFor), "circuit_breaker.open_for", c.OpenFor, false)
		if c.HalfOpenRequests != nil && *c.HalfOpenRequests == 0 {
			d.errorf(at(policyCircuitBreaker, cbHalfOpen), "circuit_breaker.half_open_requests 0 would never close the breaker again: use at least 1")
		}
	}
}

func checkDuration(d *diagnostics, at []int32, name string, v *string, zeroOK bool) {
	if v == nil {
		return
	}
	dur, err := time.ParseDuration(*v)
	switch {
	case err != nil:
		d.errorf(at, "%s %q is not a duration: write it in Go duration syntax, such as \"800ms\", \"2s\" or \"1h30m\"", name, *v)
	case dur < 0:
		d.errorf(at, "%s %q is negative: use a positive duration such as %q", name, *v, strings.TrimPrefix(*v, "-"))
	case dur == 0 && !zeroOK:
		d.errorf(at, "%s %q must be longer than zero: use a positive duration, or remove it for the default", name, *v)
	}
}

func checkRatio(d *diagnostics, at []int32, name string, v *float64, fix string) {
	if v != nil && !(*v >= 0 && *v <= 1) {
		d.errorf(at, "%s %v is outside [0,1]: %s", name, *v, fix)
	}
}
