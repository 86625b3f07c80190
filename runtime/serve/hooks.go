package serve

import (
	"context"
	"time"
)

// maxHookTime bounds one shutdown hook, so that an unreachable registry
// cannot hold the drain.
const maxHookTime = 5 * time.Second

type shutdownHook struct {
	name string
	fn   func(context.Context) error
}

// WithShutdownHook runs fn on shutdown after readiness has gone false and
// before the drain delay and the drain, bounded by 5 s or the shutdown
// timeout, whichever is shorter: the place for deregistering from service
// discovery (runtime/discovery's Lifecycle.Stop), so that clients stop
// picking the instance while it still serves. A failing hook is logged and
// the shutdown goes on.
func WithShutdownHook(name string, fn func(context.Context) error) Option {
	return func(s *Server) { s.hooks = append(s.hooks, shutdownHook{name: name, fn: fn}) }
}

// runHooks runs the shutdown hooks in order.
func (s *Server) runHooks() {
	for _, h := range s.hooks {
		ctx, cancel := context.WithTimeout(context.Background(), min(maxHookTime, s.shutdownTimeout))
		if err := h.fn(ctx); err != nil {
			s.log.Warn("serve: shutdown hook failed", "hook", h.name, "err", err)
		} else {
			s.log.Info("serve: shutdown hook done", "hook", h.name)
		}
		cancel()
	}
}
