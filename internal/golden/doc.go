// Package golden is the module's one mechanism for golden files: the
// `-update` flag and the compare-or-rewrite helper.
//
// `go test ./... -update` must run across the whole module, and a Go test
// binary rejects a flag it does not define ("flag provided but not
// defined: -update"). So every test binary in the module defines -update,
// and it is defined in one place: this package registers the flag when it
// is linked into a test binary. A package with golden files calls Check
// (or Update, when its golden files are a generated tree rewritten by a
// script); a test package without golden files links this package with a
// blank import in one of its existing test files:
//
//	import _ "github.com/govkit/govern/internal/golden" // accepts go test ./... -update
//
// A blank import is the least ceremony Go allows: test flags must be
// registered on flag.CommandLine before testing parses it, which only code
// linked into that test binary can do, and a blank import is one line
// where a TestMain or a per-package flag definition is several (and the
// latter was copied into every package before this one existed).
//
// TestEveryTestPackageAcceptsUpdate (in this package) lists the module's
// test binaries with `go list -test` and fails naming each one that does
// not link this package, so a new test package cannot silently break
// `go test ./... -update`.
//
// Check compares byte for byte and reports a mismatch as a line diff with
// the command that rewrites the file; under -update it writes the file
// (creating its directory) and the test passes. Review the rewrite with
// `git diff` before committing it.
package golden
