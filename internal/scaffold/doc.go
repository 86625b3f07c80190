// Package scaffold writes a complete governed service from the embedded
// templates (package templates) and regenerates its generated code: the
// work behind `govscaffold new service` and `govscaffold generate`.
//
// Two kinds of files, two rules. Files rendered from templates (go.mod,
// main.go, the proto, config, Makefile, Dockerfile, manifests, the handler
// and its test) belong to the user from the moment they are written:
// NewService refuses to overwrite any of them unless Force is set, and
// Generate never touches them. Files written by the protoc plugins carry
// Go's "Code generated ... DO NOT EDIT." marker: Generate rewrites those,
// and refuses to replace a file at a plugin output path that lacks the
// marker.
//
// Why templates plus overrides: a platform team wants every service to
// start from its own conventions (a base image, a logging setup, extra
// manifests) without forking the tool. Any template can be replaced by
// relative path from --template-dir or the target's .govscaffold/templates,
// and a broken override is reported with its name, its file and the line.
//
// Why generation goes through internal/protodriver: the new service must
// build on a machine with no protoc; see that package's doc.
package scaffold
