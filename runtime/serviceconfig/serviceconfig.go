package serviceconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/policy"
)

// Retry throttling of gRFC A6: every failed call costs one token, every
// success returns TokenRatio; retries stop while fewer than half of
// MaxTokens are left. 10 / 0.1 tolerates roughly one failure in ten
// before retries are suspended.
const (
	ThrottlingMaxTokens  = 10
	ThrottlingTokenRatio = 0.1
)

type document struct {
	MethodConfig    []methodConfig   `json:"methodConfig,omitempty"`
	RetryThrottling *retryThrottling `json:"retryThrottling,omitempty"`
}

type methodName struct {
	Service string `json:"service"`
	Method  string `json:"method,omitempty"`
}

type methodConfig struct {
	Name        []methodName `json:"name"`
	Timeout     string       `json:"timeout,omitempty"`
	RetryPolicy *retryPolicy `json:"retryPolicy,omitempty"`
}

type retryPolicy struct {
	MaxAttempts          int      `json:"maxAttempts"`
	InitialBackoff       string   `json:"initialBackoff"`
	MaxBackoff           string   `json:"maxBackoff"`
	BackoffMultiplier    float64  `json:"backoffMultiplier"`
	RetryableStatusCodes []string `json:"retryableStatusCodes"`
}

type retryThrottling struct {
	MaxTokens  float64 `json:"maxTokens"`
	TokenRatio float64 `json:"tokenRatio"`
}

// Build returns the gRPC service-config JSON for the methods of t, in full
// method name order so that the output is deterministic. It fails when a
// policy cannot be expressed in a service config that gRPC accepts (a retry
// on a method that is not retry safe, fewer than 2 or more than 5 attempts,
// non-positive backoffs, an unknown status code); the error names the method
// and the fix.
func Build(t policy.Table) (string, error) {
	names := make([]string, 0, len(t))
	for name := range t {
		names = append(names, name)
	}
	sort.Strings(names)

	var doc document
	var errs []error
	for _, name := range names {
		m := t[name]
		if m == nil || m.Disabled {
			continue
		}
		mc, err := buildMethod(name, m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if mc == nil {
			continue
		}
		doc.MethodConfig = append(doc.MethodConfig, *mc)
		if mc.RetryPolicy != nil {
			doc.RetryThrottling = &retryThrottling{MaxTokens: ThrottlingMaxTokens, TokenRatio: ThrottlingTokenRatio}
		}
	}
	if len(errs) > 0 {
		return "", errors.Join(errs...)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("serviceconfig: encoding the service config: %w", err)
	}
	return string(out), nil
}

func buildMethod(fullMethod string, m *policy.Method) (*methodConfig, error) {
	service, method, err := splitFullMethod(fullMethod)
	if err != nil {
		return nil, err
	}
	mc := &methodConfig{Name: []methodName{{Service: service, Method: method}}}
	if m.Timeout < 0 {
		return nil, fmt.Errorf("serviceconfig: %s: timeout %v is negative; use a positive duration or 0 for none", fullMethod, m.Timeout)
	}
	if m.Timeout > 0 {
		mc.Timeout = Duration(m.Timeout)
	}
	if r := m.Retry; r != nil && !r.Adaptive {
		if !m.RetrySafe() {
			return nil, fmt.Errorf("serviceconfig: %s: retry on a method that is not idempotent; declare idempotency_level or an idempotency block, or remove the retry", fullMethod)
		}
		rp, err := buildRetry(fullMethod, r)
		if err != nil {
			return nil, err
		}
		mc.RetryPolicy = rp
	}
	if mc.Timeout == "" && mc.RetryPolicy == nil {
		return nil, nil
	}
	return mc, nil
}

func buildRetry(fullMethod string, r *policy.Retry) (*retryPolicy, error) {
	switch {
	case r.MaxAttempts < 2 || r.MaxAttempts > 5:
		return nil, fmt.Errorf("serviceconfig: %s: retry max attempts %d is outside 2..5 (gRPC's cap is 5)", fullMethod, r.MaxAttempts)
	case r.InitialBackoff <= 0 || r.MaxBackoff <= 0:
		return nil, fmt.Errorf("serviceconfig: %s: retry backoffs must be positive (initial %v, max %v)", fullMethod, r.InitialBackoff, r.MaxBackoff)
	case !(r.Multiplier > 0) || math.IsInf(r.Multiplier, 0):
		return nil, fmt.Errorf("serviceconfig: %s: retry multiplier %v must be a finite number > 0", fullMethod, r.Multiplier)
	case len(r.Codes) == 0:
		return nil, fmt.Errorf("serviceconfig: %s: retry has no status codes; add at least UNAVAILABLE", fullMethod)
	}
	rp := &retryPolicy{
		MaxAttempts:       r.MaxAttempts,
		InitialBackoff:    Duration(r.InitialBackoff),
		MaxBackoff:        Duration(r.MaxBackoff),
		BackoffMultiplier: r.Multiplier,
	}
	for _, c := range r.Codes {
		name, ok := CodeName(c)
		if !ok || c == codes.OK {
			return nil, fmt.Errorf("serviceconfig: %s: retry status code %d is not a retryable gRPC code", fullMethod, uint32(c))
		}
		rp.RetryableStatusCodes = append(rp.RetryableStatusCodes, name)
	}
	return rp, nil
}

func splitFullMethod(fullMethod string) (service, method string, err error) {
	s, ok := strings.CutPrefix(fullMethod, "/")
	if ok {
		service, method, ok = strings.Cut(s, "/")
	}
	if !ok || service == "" || method == "" || strings.Contains(method, "/") {
		return "", "", fmt.Errorf("serviceconfig: %q is not a full method name; want \"/package.Service/Method\"", fullMethod)
	}
	return service, method, nil
}

// Duration formats d as a protobuf JSON duration ("0.800s", "24s"), the
// form the service config requires.
func Duration(d time.Duration) string {
	sec := d / time.Second
	nanos := d % time.Second
	if nanos < 0 {
		nanos = -nanos
	}
	s := strconv.FormatInt(int64(sec), 10)
	if d < 0 && sec == 0 {
		s = "-0"
	}
	if nanos == 0 {
		return s + "s"
	}
	frac := fmt.Sprintf("%09d", int64(nanos))
	// Protobuf JSON uses 0, 3, 6 or 9 fractional digits.
	switch {
	case strings.HasSuffix(frac, "000000"):
		frac = frac[:3]
	case strings.HasSuffix(frac, "000"):
		frac = frac[:6]
	}
	return s + "." + frac + "s"
}

var codeNames = [...]string{
	codes.OK:                 "OK",
	codes.Canceled:           "CANCELLED",
	codes.Unknown:            "UNKNOWN",
	codes.InvalidArgument:    "INVALID_ARGUMENT",
	codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
	codes.NotFound:           "NOT_FOUND",
	codes.AlreadyExists:      "ALREADY_EXISTS",
	codes.PermissionDenied:   "PERMISSION_DENIED",
	codes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION",
	codes.Aborted:            "ABORTED",
	codes.OutOfRange:         "OUT_OF_RANGE",
	codes.Unimplemented:      "UNIMPLEMENTED",
	codes.Internal:           "INTERNAL",
	codes.Unavailable:        "UNAVAILABLE",
	codes.DataLoss:           "DATA_LOSS",
	codes.Unauthenticated:    "UNAUTHENTICATED",
}

// CodeName returns the canonical upper-case name of c ("UNAVAILABLE") used
// by service configs and google.rpc.Code, and false for codes outside 0..16.
func CodeName(c codes.Code) (string, bool) {
	if int(c) >= len(codeNames) {
		return "", false
	}
	return codeNames[c], true
}

// ParseCode is the inverse of CodeName; it accepts the upper-case names
// only, as the service config does.
func ParseCode(name string) (codes.Code, bool) {
	for i, n := range codeNames {
		if n == name {
			return codes.Code(i), true
		}
	}
	return 0, false
}
