package idempotency

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Option configures a Server.
type Option func(*Server)

// WithRegisterer registers the govern_idempotency_total counter with reg.
// Without it the counter is kept but not exported. Wrap reg with
// prometheus.WrapRegistererWith to add the service, env and region labels.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(s *Server) { s.registerer = reg }
}

// WithLogger sets the logger for store failures and lost leases (default:
// discard).
func WithLogger(logger *slog.Logger) Option {
	return func(s *Server) {
		if logger != nil {
			s.log = logger
		}
	}
}

// WithFailOpen runs handlers without deduplication when the store cannot be
// reached, instead of failing closed with UNAVAILABLE. Choose it only for
// methods whose duplicates are cheaper than their downtime: while the store
// is down, a retried call can run twice.
func WithFailOpen() Option {
	return func(s *Server) { s.failOpen = true }
}

// WithScope partitions keys by the value scope returns for a call, such as
// the authenticated tenant or subject, so two callers that happen to send
// the same key never see each other's results. The default scope is "".
func WithScope(scope func(ctx context.Context) string) Option {
	return func(s *Server) { s.scope = scope }
}

// WithClock replaces time.Now, for tests. The in-flight retry delay and the
// handler's deadline (the lease less its margin) are computed from it.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// WithTypeResolver sets where replays find the response message type by its
// full name (default protoregistry.GlobalTypes, where generated code
// registers every message).
func WithTypeResolver(r protoregistry.MessageTypeResolver) Option {
	return func(s *Server) { s.resolver = r }
}

// WithTransientCodes replaces the codes after which a claim is released so
// the next call runs again instead of replaying the failure. The default is
// UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED and CANCELLED.
// Every other code is a deterministic result and is replayed.
func WithTransientCodes(cs ...codes.Code) Option {
	return func(s *Server) {
		s.transient = [codes.Unauthenticated + 1]bool{}
		for _, c := range cs {
			if c <= codes.Unauthenticated {
				s.transient[c] = true
			}
		}
	}
}

// WithMaxRetryDelay caps the retry delay sent with IDEMPOTENCY_IN_FLIGHT and
// IDEMPOTENCY_STORE_UNAVAILABLE (default 500ms). An in-flight rejection asks
// the caller to come back when the running call's deadline passes, or after
// this cap, whichever is sooner.
func WithMaxRetryDelay(d time.Duration) Option {
	return func(s *Server) {
		if d > 0 {
			s.maxRetryDelay = d
		}
	}
}
