// Package audit reports, for every service (main package) of a Go
// workspace, how much of the govern toolkit it actually wires: the work
// behind `govscaffold audit`.
//
// A platform team with a hundred services cannot read every main.go. The
// questions it needs answered per service are narrow and answerable from
// type information: is each gRPC server built with governed options (a
// call into github.com/govkit/govern/runtime/..., or into a generated
// <Svc>Interceptors, that yields server options or interceptors), are its
// gRPC clients, are the admin endpoints
// (runtime/admin) mounted, does it use a generated policy table (a
// policy.Table declared in a *_govern.pb.go file), and what do the
// govern-lint analyzers find. Everything is resolved through go/types, so
// an aliased import or a helper package of the same module counts, and a
// look-alike package named "governance" does not.
//
// Packages are loaded once with golang.org/x/tools/go/packages for all
// patterns (dependencies come from compiler export data, so a fleet of
// services sharing grpc is type-checked from source only in its own
// packages) and the analyzers run in process through
// golang.org/x/tools/go/analysis/checker, the driver multichecker is built
// on. A service's report covers its main package and every package of its
// own module that it imports and that the patterns matched.
package audit
