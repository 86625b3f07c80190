package client

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/govkit/govern/runtime/breaker"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/retry"
	"github.com/govkit/govern/runtime/serviceconfig"
)

// DialOptions returns the dial options that govern the calls a ClientConn
// makes to the methods of table:
//
//   - grpc.WithDefaultServiceConfig with the JSON of serviceconfig.Build:
//     per-method timeouts, gRPC native retry for retry-safe methods with a
//     plain (non-adaptive) retry policy, and retryThrottling;
//   - a chain of unary interceptors, outermost first: the idempotency key
//     (one key per logical call, so every attempt carries it), client
//     metrics (per logical call), the adaptive retry of runtime/retry (only
//     for Retry.Adaptive methods, which have no retryPolicy in the service
//     config, so no method is retried by both), the policy timeout of each
//     attempt, and the client circuit breaker of the target+method;
//   - a chain of stream interceptors: client metrics and the breaker.
//
// It fails, naming the method and the fix, when a retry policy (from the
// table or from WithRetry) is set on a method that is not retry safe, or
// when a policy or option cannot be honoured.
func DialOptions(table policy.Table, opts ...Option) ([]grpc.DialOption, error) {
	o := options{breakers: true}
	for _, opt := range opts {
		opt(&o)
	}
	table, err := applyOverrides(table, o.retries)
	if err != nil {
		return nil, err
	}
	if o.gateway {
		table = withoutKeylessRetries(table)
	}
	for name, m := range table {
		if m != nil && !m.Disabled && m.Retry != nil && !m.RetrySafe() {
			return nil, fmt.Errorf("client: %s has a retry policy but is not idempotent, and govern never retries it; declare idempotency_level IDEMPOTENT or NO_SIDE_EFFECTS or an idempotency block in the proto, or remove the retry", name)
		}
	}

	sc, err := serviceconfig.Build(table)
	if err != nil {
		return nil, fmt.Errorf("client: building the service config: %w", err)
	}
	if o.budgetSet {
		if sc, err = withThrottling(sc, o.maxTokens, o.tokenRatio); err != nil {
			return nil, err
		}
	}

	retryOpts := []retry.Option{}
	if o.alphaSet {
		retryOpts = append(retryOpts, retry.WithAlpha(o.alpha))
	}
	if o.budgetSet {
		retryOpts = append(retryOpts, retry.WithBudget(o.maxTokens, o.tokenRatio))
	}
	if o.rttWindow > 0 {
		retryOpts = append(retryOpts, retry.WithRTTWindow(o.rttWindow))
	}
	var metrics *clientMetrics
	if o.registerer != nil {
		if metrics, err = newClientMetrics(o.registerer, table); err != nil {
			return nil, err
		}
		retryOpts = append(retryOpts, retry.WithOutcomeObserver(metrics.observeAttempt))
	}
	retrier, err := retry.New(table, retryOpts...)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}

	var unary []grpc.UnaryClientInterceptor
	if !o.gateway {
		unary = append(unary, idempotency.UnaryClientInterceptor(table))
	}
	var stream []grpc.StreamClientInterceptor
	if metrics != nil {
		unary = append(unary, metrics.unary)
		stream = append(stream, metrics.stream)
	}
	unary = append(unary, retrier.UnaryClientInterceptor(), attemptTimeout(table))
	if o.breakers {
		if b := newBreakers(table); b != nil {
			unary = append(unary, b.unary)
			stream = append(stream, b.stream)
		}
	}
	if o.resolution != nil {
		if sc, err = withLoadBalancing(sc, o.resolution.LoadBalancingConfig()); err != nil {
			return nil, err
		}
	}
	dial := []grpc.DialOption{
		grpc.WithDefaultServiceConfig(sc),
		grpc.WithChainUnaryInterceptor(unary...),
	}
	if o.resolution != nil {
		dial = append(dial, grpc.WithResolvers(o.resolution.Resolver()))
	}
	if len(stream) > 0 {
		dial = append(dial, grpc.WithChainStreamInterceptor(stream...))
	}
	if metrics != nil {
		dial = append(dial, grpc.WithStatsHandler(nativeAttempts{}))
	}
	return dial, nil
}

// applyOverrides returns table with the WithRetry overrides applied to
// copies of the methods; the caller's table is never modified.
func applyOverrides(table policy.Table, overrides []retryOverride) (policy.Table, error) {
	if len(overrides) == 0 {
		return table, nil
	}
	out := make(policy.Table, len(table))
	for k, v := range table {
		out[k] = v
	}
	for _, ov := range overrides {
		m := out.Lookup(ov.fullMethod)
		if m == nil {
			return nil, fmt.Errorf("client: WithRetry(%q): the method is not in the policy table, so govern cannot tell whether it is idempotent and never retries it; pass the service's generated policy table", ov.fullMethod)
		}
		cp := *m
		if ov.retry.MaxAttempts < 2 {
			cp.Retry = nil
		} else {
			if !cp.RetrySafe() {
				return nil, fmt.Errorf("client: WithRetry(%q): the method is not idempotent, and govern never retries it whatever the caller configures; declare idempotency_level IDEMPOTENT or NO_SIDE_EFFECTS or an idempotency block in the proto", ov.fullMethod)
			}
			r := ov.retry
			cp.Retry = &r
		}
		out[ov.fullMethod] = &cp
	}
	return out, nil
}

// withoutKeylessRetries returns table without the retry policy of the
// methods a gateway connection must not retry (see ForGateway): retry safe
// only through an idempotency block whose key is not required. The caller's
// table is never modified.
func withoutKeylessRetries(table policy.Table) policy.Table {
	var out policy.Table
	for name, m := range table {
		if m == nil || m.Retry == nil || m.IdempotencyLevel != policy.IdempotencyUnknown ||
			m.Idempotency == nil || m.Idempotency.Required {
			continue
		}
		if out == nil {
			out = maps.Clone(table)
		}
		cp := *m
		cp.Retry = nil
		out[name] = &cp
	}
	if out == nil {
		return table
	}
	return out
}

// withThrottling replaces the retryThrottling of a service config document.
func withThrottling(sc string, maxTokens, tokenRatio float64) (string, error) {
	if _, err := retry.NewBudget(maxTokens, tokenRatio); err != nil {
		return "", fmt.Errorf("client: WithRetryBudget: %w", err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(sc), &doc); err != nil {
		return "", fmt.Errorf("client: reading the service config: %w", err)
	}
	if _, ok := doc["retryThrottling"]; !ok {
		return sc, nil // no native retries: nothing to throttle
	}
	t, err := json.Marshal(map[string]float64{"maxTokens": maxTokens, "tokenRatio": tokenRatio})
	if err != nil {
		return "", fmt.Errorf("client: encoding retryThrottling: %w", err)
	}
	doc["retryThrottling"] = t
	out, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("client: encoding the service config: %w", err)
	}
	return string(out), nil
}

// attemptTimeout bounds every attempt (it runs inside the adaptive retry
// loop) by the method's policy timeout, unless the call's deadline is
// already sooner. The service config sets the same timeout; this keeps it
// when a resolver supplies its own service config or it is disabled.
func attemptTimeout(table policy.Table) grpc.UnaryClientInterceptor {
	timeouts := make(map[string]time.Duration)
	for name, m := range table {
		if m != nil && !m.Disabled && m.Timeout > 0 {
			timeouts[name] = m.Timeout
		}
	}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if d := timeouts[method]; d > 0 {
			if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > d {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, d)
				defer cancel()
			}
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// breakers holds one breaker per target+method for the methods with a
// circuit breaker policy.
type breakers struct {
	policies map[string]policy.CircuitBreaker
	targets  sync.Map // target -> map[full method]*breaker.Breaker
}

func newBreakers(table policy.Table) *breakers {
	b := &breakers{policies: map[string]policy.CircuitBreaker{}}
	for name, m := range table {
		if m != nil && !m.Disabled && m.CircuitBreaker != nil {
			b.policies[name] = *m.CircuitBreaker
		}
	}
	if len(b.policies) == 0 {
		return nil
	}
	return b
}

// get returns the breaker of target+method, or nil when the method has none.
// The first call to a target builds the breakers of all its methods, so the
// per-call path is a sync.Map load and a map lookup.
func (b *breakers) get(target, method string) *breaker.Breaker {
	if _, ok := b.policies[method]; !ok {
		return nil
	}
	if m, ok := b.targets.Load(target); ok {
		return m.(map[string]*breaker.Breaker)[method]
	}
	m := make(map[string]*breaker.Breaker, len(b.policies))
	for name, p := range b.policies {
		m[name] = breaker.New(p, breaker.WithName(target+name))
	}
	actual, _ := b.targets.LoadOrStore(target, m)
	return actual.(map[string]*breaker.Breaker)[method]
}

func (b *breakers) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	br := b.get(cc.Target(), method)
	if br == nil {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	permit, err := br.Allow()
	if err != nil {
		return err // UNAVAILABLE, CIRCUIT_OPEN: no network call
	}
	err = invoker(ctx, method, req, reply, cc, opts...)
	permit.Done(err)
	return err
}

func (b *breakers) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	br := b.get(cc.Target(), method)
	if br == nil {
		return streamer(ctx, desc, cc, method, opts...)
	}
	permit, err := br.Allow()
	if err != nil {
		return nil, err
	}
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		permit.Done(err)
		return nil, err
	}
	return onFinish(cs, desc.ServerStreams, permit.Done), nil
}
