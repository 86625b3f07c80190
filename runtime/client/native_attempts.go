package client

import (
	"context"
	"slices"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/policy"
	"github.com/govkit/govern/runtime/retry"
)

// OutcomeStopped is the govern_retry_attempts_total outcome of the last
// attempt of a native-retry call that failed with a retryable code before
// max_attempts: gRPC stopped retrying because of its retry throttling, a
// server pushback or the call's deadline, which it does not tell apart.
const OutcomeStopped retry.Outcome = "stopped"

// nativeAttempts counts the attempts gRPC's native retry makes below the
// interceptors: the metrics interceptor puts a counter in the call's
// context, and this stats handler, which sees every attempt's End, adds to
// it. It implements stats.Handler and ignores everything else.
type nativeAttempts struct{}

type attemptCountKey struct{}

// withAttemptCounter returns ctx carrying a fresh attempt counter.
func withAttemptCounter(ctx context.Context) (context.Context, *atomic.Int32) {
	n := new(atomic.Int32)
	return context.WithValue(ctx, attemptCountKey{}, n), n
}

func (nativeAttempts) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

func (nativeAttempts) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if end, ok := s.(*stats.End); ok && end.IsClient() {
		if n, ok := ctx.Value(attemptCountKey{}).(*atomic.Int32); ok {
			n.Add(1)
		}
	}
}

func (nativeAttempts) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (nativeAttempts) HandleConn(context.Context, stats.ConnStats) {}

// nativeRetry returns the retry policy of methods gRPC retries natively.
func nativeRetry(m *policy.Method) *policy.Retry {
	if m == nil || m.Disabled || m.Retry == nil || m.Retry.Adaptive || !m.RetrySafe() || m.Streaming() {
		return nil
	}
	return m.Retry
}

// reportNative turns the attempt count and final error of a native-retry
// call into per-attempt outcomes: every attempt but the last was retried.
func (m *clientMetrics) reportNative(method string, pol *policy.Retry, attempts int, err error) {
	if attempts == 0 {
		attempts = 1 // failed before any attempt was made (e.g. no connection)
	}
	for range attempts - 1 {
		m.observeAttempt(method, retry.OutcomeRetried)
	}
	code := status.Code(err)
	retryable := slices.Contains(pol.Codes, code) || (len(pol.Codes) == 0 && code == codes.Unavailable)
	switch {
	case err == nil:
		m.observeAttempt(method, retry.OutcomeOK)
	case code == codes.Canceled || code == codes.DeadlineExceeded && !retryable:
		m.observeAttempt(method, retry.OutcomeCanceled)
	case !retryable:
		m.observeAttempt(method, retry.OutcomeNotRetryable)
	case attempts >= pol.MaxAttempts:
		m.observeAttempt(method, retry.OutcomeExhausted)
	default:
		m.observeAttempt(method, OutcomeStopped)
	}
}
