package retrytest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Service is the full service name.
const Service = "govern.retrytest.Scripted"

// Full method names of the service.
const (
	Get    = "/" + Service + "/Get"
	Create = "/" + Service + "/Create"
	// Watch is server-streaming: it runs the script once and, unless the
	// script fails, sends its response value twice.
	Watch = "/" + Service + "/Watch"
)

// Attempt is what the server saw of one attempt.
type Attempt struct {
	// Method is the full method name.
	Method string
	// N counts the attempts of Method, from 1.
	N int
	// Metadata is the incoming metadata (idempotency-key, ...).
	Metadata metadata.MD
	// Request is the request's value.
	Request string
	// At is when the server received the attempt.
	At time.Time
}

// Script answers one attempt: a response value, or an error (a gRPC status).
// It may call grpc.SetTrailer, sleep, or wait on ctx. It must be safe for
// concurrent use.
type Script func(ctx context.Context, a Attempt) (string, error)

// Server is a running scripted server.
type Server struct {
	// Addr is the server's 127.0.0.1 address, to dial.
	Addr string

	script Script
	srv    *grpc.Server
	done   chan struct{}

	mu       sync.Mutex
	attempts []Attempt
	counts   map[string]int
}

// Start serves script on a fresh 127.0.0.1 port until Close.
func Start(script Script, opts ...grpc.ServerOption) (*Server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("retrytest: listening on 127.0.0.1: %w", err)
	}
	s := &Server{Addr: lis.Addr().String(), script: script, srv: grpc.NewServer(opts...), done: make(chan struct{}), counts: map[string]int{}}
	s.srv.RegisterService(&serviceDesc, s)
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(lis) // returns when Close stops the server
	}()
	return s, nil
}

// Close stops the server and waits for it.
func (s *Server) Close() {
	s.srv.Stop()
	<-s.done
}

// Attempts returns the number of attempts of fullMethod received so far.
func (s *Server) Attempts(fullMethod string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[fullMethod]
}

// Log returns every attempt received so far, in arrival order.
func (s *Server) Log() []Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Attempt(nil), s.attempts...)
}

// Reset forgets the attempts received so far.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts = nil
	clear(s.counts)
}

func (s *Server) handle(ctx context.Context, method string, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	s.counts[method]++
	a := Attempt{Method: method, N: s.counts[method], Metadata: md.Copy(), Request: in.GetValue(), At: time.Now()}
	s.attempts = append(s.attempts, a)
	s.mu.Unlock()
	out, err := s.script(ctx, a)
	if err != nil {
		return nil, err
	}
	return wrapperspb.String(out), nil
}

// Call invokes fullMethod on cc with request value req and returns the
// response value.
func Call(ctx context.Context, cc grpc.ClientConnInterface, fullMethod, req string, opts ...grpc.CallOption) (string, error) {
	out := new(wrapperspb.StringValue)
	if err := cc.Invoke(ctx, fullMethod, wrapperspb.String(req), out, opts...); err != nil {
		return "", err
	}
	return out.GetValue(), nil
}

// Pushback sets the gRFC A6 pushback trailer on the answer of the attempt
// running in ctx: "250" asks the client to wait 250 ms, "-1" to stop.
func Pushback(ctx context.Context, value string) {
	_ = grpc.SetTrailer(ctx, metadata.Pairs("grpc-retry-pushback-ms", value))
}

func handler(fullMethod string) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.StringValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		s := srv.(*Server)
		if interceptor == nil {
			return s.handle(ctx, fullMethod, in)
		}
		info := &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod}
		return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
			return s.handle(ctx, fullMethod, req.(*wrapperspb.StringValue))
		})
	}
}

func watchHandler(srv any, stream grpc.ServerStream) error {
	in := new(wrapperspb.StringValue)
	if err := stream.RecvMsg(in); err != nil {
		return err
	}
	out, err := srv.(*Server).handle(stream.Context(), Watch, in)
	if err != nil {
		return err
	}
	for range 2 {
		if err := stream.SendMsg(out); err != nil {
			return err
		}
	}
	return nil
}

// WatchAll opens Watch on cc with request value req and returns every value
// received until the stream ends.
func WatchAll(ctx context.Context, cc grpc.ClientConnInterface, req string, opts ...grpc.CallOption) ([]string, error) {
	cs, err := cc.NewStream(ctx, &serviceDesc.Streams[0], Watch, opts...)
	if err != nil {
		return nil, err
	}
	if err := cs.SendMsg(wrapperspb.String(req)); err != nil {
		return nil, err
	}
	if err := cs.CloseSend(); err != nil {
		return nil, err
	}
	var got []string
	for {
		m := new(wrapperspb.StringValue)
		if err := cs.RecvMsg(m); err != nil {
			if errors.Is(err, io.EOF) {
				return got, nil
			}
			return got, err
		}
		got = append(got, m.GetValue())
	}
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: Service,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Get", Handler: handler(Get)},
		{MethodName: "Create", Handler: handler(Create)},
	},
	Streams: []grpc.StreamDesc{
		{StreamName: "Watch", Handler: watchHandler, ServerStreams: true},
	},
	Metadata: "govern/retrytest",
}
