// Command govern-lint runs govern's analyzers (defaultservemux and
// tickerleak, see package github.com/govkit/govern/lint) over Go packages.
//
// One binary serves two drivers, so that a team installs one tool:
//
//	go vet -vettool=$(which govern-lint) ./...   # as a go vet tool
//	govern-lint ./...                            # standalone
//	govern-lint -fix ./...                       # apply suggested fixes
//	govern-lint -fix -diff ./...                 # show them as a diff
//	govern-lint -json ./...                      # machine-readable output
//
// go vet drives a vet tool through the unitchecker protocol: it first asks
// for "-V=full" and "-flags", then runs the tool once per package with a
// single *.cfg file argument describing that package. govern-lint
// recognises those invocations and hands them to unitchecker; anything
// else goes to multichecker, which loads packages itself with
// golang.org/x/tools/go/packages. Standalone, govern-lint exits 3 when it
// reports diagnostics, 1 on errors and 0 when the code is clean.
package main
