// Package templates holds the scaffold templates of `govscaffold new
// service`, embedded in the binary so the CLI works from a single file with
// no checkout at hand.
//
// Every file under service/ is a text/template rendered with
// scaffold.Data; a path segment "__name__" is replaced by the service name
// and the ".tmpl" suffix is dropped. A platform team customises the output by
// overriding any template by its relative path (for example
// "cmd/__name__/main.go.tmpl") with `--template-dir DIR` or a
// `.govscaffold/templates` directory in the target, instead of forking the
// tool; `govscaffold templates export DIR` writes this set as a starting point.
package templates

import (
	"embed"
	"io/fs"
)

//go:embed all:service all:openapi
var embedded embed.FS

// Service returns the embedded service templates, rooted so that paths are
// relative to the generated service's root ("go.mod.tmpl",
// "cmd/__name__/main.go.tmpl", ...).
func Service() fs.FS {
	sub, err := fs.Sub(embedded, "service")
	if err != nil {
		// fs.Sub only fails on an invalid path; "service" is a constant.
		panic(err)
	}
	return sub
}

// OpenAPIService returns the embedded templates of an HTTP-first service
// made from an OpenAPI document (`govscaffold new service NAME
// --from-openapi api.yaml`), rooted like Service.
func OpenAPIService() fs.FS {
	sub, err := fs.Sub(embedded, "openapi")
	if err != nil {
		panic(err) // "openapi" is a constant, valid path
	}
	return sub
}
