// Package redoclylint runs `redocly lint` (@redocly/cli, the Redocly
// OpenAPI linter) over the OpenAPI documents protoc-gen-govern writes, with
// the repository's redocly.yaml (the recommended ruleset; each rule it
// turns off names why).
//
// The linter is a Node.js program from the npm registry, not a Go module,
// so Install puts one pinned version into a cache directory with npm the
// first time and reuses it after. Its test lints every committed
// *.openapi.* file in one invocation; without npm (or the registry) it
// skips naming the install command, and fails under CI.
package redoclylint
