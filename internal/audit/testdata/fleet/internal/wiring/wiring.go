// Package wiring builds the admin handler for the orders service: audit
// follows a service into the packages of its module.
package wiring

import (
	"net/http"

	"github.com/govkit/govern/runtime/admin"
)

// Admin returns the admin endpoints on an explicit mux.
func Admin(service string) http.Handler {
	mux := http.NewServeMux()
	admin.New(admin.WithService(service)).Mount(mux)
	return mux
}
