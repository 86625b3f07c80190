package serve

import (
	"net/http"
	"time"
)

// Default timeouts of NewHTTPServer.
const (
	// DefaultReadHeaderTimeout bounds reading request headers (slowloris).
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultReadTimeout bounds reading a whole request, body included.
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds writing a response. The admin pprof
	// handlers extend it by the profile's duration.
	DefaultWriteTimeout = 60 * time.Second
	// DefaultIdleTimeout bounds keep-alive connections between requests.
	DefaultIdleTimeout = 120 * time.Second
)

// HTTPOption configures NewHTTPServer.
type HTTPOption func(*http.Server)

// WithReadHeaderTimeout overrides DefaultReadHeaderTimeout.
func WithReadHeaderTimeout(d time.Duration) HTTPOption {
	return func(s *http.Server) { s.ReadHeaderTimeout = d }
}

// WithReadTimeout overrides DefaultReadTimeout.
func WithReadTimeout(d time.Duration) HTTPOption {
	return func(s *http.Server) { s.ReadTimeout = d }
}

// WithWriteTimeout overrides DefaultWriteTimeout.
func WithWriteTimeout(d time.Duration) HTTPOption {
	return func(s *http.Server) { s.WriteTimeout = d }
}

// WithIdleTimeout overrides DefaultIdleTimeout.
func WithIdleTimeout(d time.Duration) HTTPOption {
	return func(s *http.Server) { s.IdleTimeout = d }
}

// WithMaxHeaderBytes bounds request header size (default http's 1 MB).
func WithMaxHeaderBytes(n int) HTTPOption {
	return func(s *http.Server) { s.MaxHeaderBytes = n }
}

// NewHTTPServer returns an http.Server for h with every timeout set. It
// panics when h is nil: an http.Server with a nil Handler serves
// http.DefaultServeMux, which is never what a governed service means.
func NewHTTPServer(h http.Handler, opts ...HTTPOption) *http.Server {
	if h == nil {
		panic("serve: NewHTTPServer needs a handler; a nil handler would serve http.DefaultServeMux")
	}
	s := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		ReadTimeout:       DefaultReadTimeout,
		WriteTimeout:      DefaultWriteTimeout,
		IdleTimeout:       DefaultIdleTimeout,
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}
