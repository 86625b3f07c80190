package gateway

import (
	"context"
	"errors"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/problem"
)

// ProblemContentType is the media type of RFC 9457 problem details.
const ProblemContentType = problem.ContentType

// ProblemTypeBase prefixes the problem "type" URI of every govern rejection;
// the rest is the reason in kebab case
// ("https://govern.dev/problems/rate-limited").
const ProblemTypeBase = problem.TypeBase

// HTTPStatus returns the HTTP status the gateway answers a govern rejection
// reason with (runtime/problem's contract table, the one an HTTP-first
// service answers with too), and false for reasons outside the contract
// (those keep grpc-gateway's code-based mapping).
func HTTPStatus(reason string) (int, bool) { return problem.HTTPStatus(reason) }

// Problem is the RFC 9457 body of every error the gateway answers:
// runtime/problem's. Its Type is ProblemTypeBase plus the reason for a
// govern rejection, and "about:blank" for any other error (RFC 9457
// section 4.2.1: the problem is what the HTTP status says).
type Problem = problem.Problem

// blankProblemType is RFC 9457's type of a problem that has no semantics
// beyond its HTTP status.
const blankProblemType = "about:blank"

// errorHandler answers every error with problem+json: govern rejections
// with the status and type of the contract table, every other error (a
// backend status, a body that is not valid JSON, an unknown route) with
// grpc-gateway's code-to-status mapping and type about:blank. custom, when
// set by WithErrorHandler, answers the errors that are not govern
// rejections instead.
func errorHandler(custom runtime.ErrorHandlerFunc) runtime.ErrorHandlerFunc {
	return func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		cause := err
		var httpErr *runtime.HTTPStatusError
		if errors.As(err, &httpErr) {
			cause = httpErr.Err
		}
		route, ok := routeTemplate(ctx, nil)
		if !ok {
			route, _ = routeTemplate(r.Context(), nil)
		}
		info := errinfo.Info(cause)
		if _, govern := problem.HTTPStatus(info.GetReason()); govern {
			p, retryAfter := problem.FromError(cause, route)
			problem.WriteProblem(w, p, retryAfter)
			return
		}
		if custom != nil {
			custom(ctx, mux, m, w, r, err)
			return
		}
		st := status.Convert(cause)
		code := runtime.HTTPStatusFromCode(st.Code())
		if httpErr != nil {
			code = httpErr.HTTPStatus
		}
		p := Problem{
			Type:     blankProblemType,
			Title:    http.StatusText(code),
			Status:   code,
			Detail:   st.Message(),
			Reason:   info.GetReason(),
			GRPCCode: grpcCodeName(st.Code()),
			Route:    route,
			Metadata: info.GetMetadata(),
		}
		if st.Code() == codes.Unauthenticated {
			w.Header().Set("WWW-Authenticate", st.Message()) // as grpc-gateway's own handler does
		}
		problem.WriteProblem(w, p, errinfo.RetryAfter(cause))
	}
}

// routingErrorHandler answers the requests no route takes with
// problem+json through the mux's error handler: 404 for an unknown path,
// 405 for a known path with another method (grpc-gateway's default turns
// that into UNIMPLEMENTED, which maps to 501), 400 for a path it cannot
// parse.
func routingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	code := codes.Internal
	switch httpStatus {
	case http.StatusBadRequest:
		code = codes.InvalidArgument
	case http.StatusNotFound:
		code = codes.NotFound
	case http.StatusMethodNotAllowed:
		code = codes.Unimplemented
	}
	err := &runtime.HTTPStatusError{HTTPStatus: httpStatus, Err: status.Errorf(code, "%s %s: %s", r.Method, r.URL.Path, http.StatusText(httpStatus))}
	errorHandler(nil)(ctx, mux, m, w, r, err)
}

// grpcCodeName returns the canonical google.rpc.Code name of c.
func grpcCodeName(c codes.Code) string {
	if name, ok := rpccode.Code_name[int32(c)]; ok {
		return name
	}
	return c.String()
}
