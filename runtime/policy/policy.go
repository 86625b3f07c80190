package policy

import (
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// Tier is a method's SLA tier. It picks the default trace sampling ratio and
// is a label on the method's metric series.
type Tier uint8

const (
	TierUnspecified Tier = iota
	TierGold
	TierSilver
	TierBronze
)

// String returns the tier's metric label value: "gold", "silver", "bronze",
// or "unspecified".
func (t Tier) String() string {
	switch t {
	case TierGold:
		return "gold"
	case TierSilver:
		return "silver"
	case TierBronze:
		return "bronze"
	default:
		return "unspecified"
	}
}

// DefaultSampling is the trace sampling ratio of a tier when the policy sets
// no explicit ratio: 100% gold, 10% silver, 1% bronze (and unspecified),
// which keeps production defaults at or below 1% for everything not marked
// as critical.
func (t Tier) DefaultSampling() float64 {
	switch t {
	case TierGold:
		return 1
	case TierSilver:
		return 0.1
	default:
		return 0.01
	}
}

// IdempotencyLevel mirrors descriptor.proto's MethodOptions.IdempotencyLevel.
type IdempotencyLevel uint8

const (
	IdempotencyUnknown IdempotencyLevel = iota
	// NoSideEffects methods (reads) may be retried and need no key.
	NoSideEffects
	// Idempotent methods may be retried and need no key.
	Idempotent
)

// Scope says where a rate limit is counted.
type Scope uint8

const (
	// ScopeLocal counts per replica, in memory.
	ScopeLocal Scope = iota
	// ScopeDistributed counts across replicas through Redis, falling back to
	// ScopeLocal when Redis is unreachable.
	ScopeDistributed
)

// String returns "local" or "distributed".
func (s Scope) String() string {
	if s == ScopeDistributed {
		return "distributed"
	}
	return "local"
}

// Table is the resolved policy of a service's methods, keyed by full method
// name. Generated code declares one per service; Merge combines several.
type Table map[string]*Method

// Lookup returns the policy of fullMethod, or nil when the method is not
// governed. It is the one map lookup an ungoverned method costs.
func (t Table) Lookup(fullMethod string) *Method {
	return t[fullMethod]
}

// Merge returns a table holding every method of the given tables. A later
// table wins when two declare the same method.
func Merge(tables ...Table) Table {
	n := 0
	for _, t := range tables {
		n += len(t)
	}
	out := make(Table, n)
	for _, t := range tables {
		for k, v := range t {
			out[k] = v
		}
	}
	return out
}

// Method is the resolved policy of one gRPC method.
type Method struct {
	// FullMethod is the gRPC full method name, "/pkg.Service/Method".
	FullMethod string
	// Service is the fully qualified service name, "pkg.Service".
	Service string
	// Name is the method's short name, "Method".
	Name string

	ClientStreaming bool
	ServerStreaming bool

	// Disabled opts the method out of governance: the runtime passes its
	// calls straight to the handler.
	Disabled bool

	Tier Tier
	// Timeout is the server deadline and client per-attempt deadline; zero
	// means none.
	Timeout time.Duration
	// Sampling is the trace sampling ratio in [0,1]: the explicit one, or
	// the tier default.
	Sampling float64
	// IdempotencyLevel is the standard descriptor option of the method.
	IdempotencyLevel IdempotencyLevel

	// Idempotency is non-nil when the method deduplicates keyed calls.
	Idempotency *Idempotency
	// Retry is non-nil when the method may be retried by clients; the
	// generator guarantees it is only set on idempotent methods.
	Retry *Retry
	// RateLimit is non-nil when calls are admission-limited.
	RateLimit *RateLimit
	// CircuitBreaker is non-nil when the method has a breaker.
	CircuitBreaker *CircuitBreaker
}

// Streaming reports whether the method streams in either direction.
func (m *Method) Streaming() bool { return m.ClientStreaming || m.ServerStreaming }

// RetrySafe reports whether a failed call may be sent again without risk of
// running its side effects twice: the method is declared IDEMPOTENT or
// NO_SIDE_EFFECTS, or it deduplicates calls by idempotency key.
func (m *Method) RetrySafe() bool {
	return m.IdempotencyLevel != IdempotencyUnknown || m.Idempotency != nil
}

// KeyFunc derives an idempotency key from a request message. It returns
// false when the request lacks a value for any key field. Generated code
// provides a typed function per method and wraps it in a KeyFunc.
type KeyFunc func(req any) (key string, ok bool)

// Idempotency is the resolved deduplication policy of a method.
type Idempotency struct {
	// Required rejects calls with no key (sent or derived).
	Required bool
	// KeyFields are the request field paths of the derived key.
	KeyFields []string
	// Key derives the key from a request; nil when KeyFields is empty.
	Key KeyFunc
	// TTL is how long a finished result is replayed.
	TTL time.Duration
	// Lease is how long an in-flight claim survives its owner.
	Lease time.Duration
}

// Retry is the resolved client retry policy of a method.
type Retry struct {
	// MaxAttempts counts the first attempt; 2..5.
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Multiplier     float64
	// Codes are the status codes that are retried.
	Codes []codes.Code
	// Adaptive selects RTT-aware backoff through the govern client
	// interceptor instead of gRPC's native retry.
	Adaptive bool
	// RTTBaseline is the adaptive backoff's baseline; zero means learn it
	// from the first window of calls.
	RTTBaseline time.Duration
}

// RateLimit is the resolved admission limit of a method.
type RateLimit struct {
	RPS   float64
	Burst int
	Scope Scope
}

// CircuitBreaker is the resolved breaker policy of a method.
type CircuitBreaker struct {
	FailureRatio     float64
	MinRequests      uint32
	Window           time.Duration
	OpenFor          time.Duration
	HalfOpenRequests uint32
}

// Route is one HTTP route of a method, from its google.api.http annotation.
type Route struct {
	// HTTPMethod is "GET", "POST", ...
	HTTPMethod string
	// Pattern is the path template as declared, "/v1/orders/{id}". Metrics
	// use it as the route label, never the raw request path.
	Pattern string
	// Body is the annotation's body field ("*", a field name, or "").
	Body string
	// FullMethod is the gRPC method the route maps to.
	FullMethod string
	// Policy is the method's resolved policy.
	Policy *Method
}

// JoinKey builds an idempotency key from the values of key fields. Each part
// is length-prefixed so that distinct field values can never produce the same
// key ("a|b","c" and "a","b|c" differ). Generated extractors call it.
func JoinKey(parts ...string) string {
	var b strings.Builder
	n := 0
	for _, p := range parts {
		n += len(p) + 4
	}
	b.Grow(n)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteByte(':')
		b.WriteString(p)
	}
	return b.String()
}
