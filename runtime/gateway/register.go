package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	"github.com/govkit/govern/runtime/policy"
)

// RegisterFunc is the signature of the handler registration that
// protoc-gen-grpc-gateway generates (Register<Svc>Handler).
type RegisterFunc = func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error

// Register checks a service's route table and mounts its grpc-gateway
// handlers on mux through register. Generated code calls it as
//
//	gateway.Register(ctx, mux, conn, OrderServiceRoutes, RegisterOrderServiceHandler)
//
// The routes are not re-registered (register does that, from the same
// google.api.http annotations); they are validated so that a malformed
// table — an empty or unparsable template, an unknown HTTP method, a full
// method name that is not "/pkg.Service/Method", a policy that belongs to
// another method, or the same method and template twice — fails at startup
// with every problem listed, instead of producing a route that 404s. The
// route templates are the values the gateway's metrics label requests with.
func Register(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn, routes []policy.Route, register func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error) error {
	if mux == nil {
		return errors.New("gateway: Register needs a mux: create it with gateway.NewServeMux")
	}
	if conn == nil {
		return errors.New("gateway: Register needs a client connection to the gRPC server: create it with grpc.NewClient")
	}
	if register == nil {
		return errors.New("gateway: Register needs the generated Register<Svc>Handler function of protoc-gen-grpc-gateway")
	}
	if err := ValidateRoutes(routes); err != nil {
		return err
	}
	if err := register(ctx, mux, conn); err != nil {
		return fmt.Errorf("gateway: mounting the grpc-gateway handlers: %w", err)
	}
	return nil
}

// ValidateRoutes reports every problem of a route table in one error.
func ValidateRoutes(routes []policy.Route) error {
	var problems []error
	// A scratch mux parses templates with grpc-gateway's own parser, so a
	// template is accepted here exactly when the gateway can serve it.
	scratch := runtime.NewServeMux()
	noop := func(http.ResponseWriter, *http.Request, map[string]string) {}
	seen := make(map[string]int, len(routes))
	for i, r := range routes {
		where := fmt.Sprintf("route %d (%s %s)", i, r.HTTPMethod, r.Pattern)
		if !validHTTPMethod(r.HTTPMethod) {
			problems = append(problems, fmt.Errorf("%s: HTTP method %q is not an upper-case token such as GET or POST", where, r.HTTPMethod))
		}
		if !strings.HasPrefix(r.Pattern, "/") {
			problems = append(problems, fmt.Errorf("%s: template %q must start with '/'", where, r.Pattern))
		} else if err := scratch.HandlePath(r.HTTPMethod, r.Pattern, noop); err != nil {
			problems = append(problems, fmt.Errorf("%s: template does not parse: %w", where, err))
		}
		if !validFullMethod(r.FullMethod) {
			problems = append(problems, fmt.Errorf("%s: full method %q is not of the form /pkg.Service/Method", where, r.FullMethod))
		}
		if r.Policy != nil && r.Policy.FullMethod != "" && r.Policy.FullMethod != r.FullMethod {
			problems = append(problems, fmt.Errorf("%s: policy belongs to %s, not %s: regenerate the routes", where, r.Policy.FullMethod, r.FullMethod))
		}
		key := r.HTTPMethod + " " + r.Pattern
		if first, dup := seen[key]; dup {
			problems = append(problems, fmt.Errorf("%s: same method and template as route %d", where, first))
		} else {
			seen[key] = i
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("gateway: invalid route table: %w", errors.Join(problems...))
	}
	return nil
}

// validHTTPMethod accepts an upper-case RFC 9110 token: google.api.http's
// custom pattern allows methods beyond the standard five.
func validHTTPMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if (c < 'A' || c > 'Z') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func validFullMethod(fm string) bool {
	rest, ok := strings.CutPrefix(fm, "/")
	if !ok {
		return false
	}
	svc, method, ok := strings.Cut(rest, "/")
	return ok && svc != "" && method != "" && !strings.Contains(method, "/")
}
