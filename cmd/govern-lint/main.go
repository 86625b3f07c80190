package main

import (
	"os"
	"strings"

	"golang.org/x/tools/go/analysis/multichecker"
	"golang.org/x/tools/go/analysis/unitchecker"

	"github.com/govkit/govern/lint"
)

func main() {
	if invokedByGoVet(os.Args[1:]) {
		unitchecker.Main(lint.Analyzers()...)
		return // unitchecker.Main exits
	}
	multichecker.Main(lint.Analyzers()...)
}

// invokedByGoVet reports whether args follow the protocol go vet uses
// with a -vettool: a "-V=full" or "-flags" query, or a run whose last
// argument is the *.cfg file describing one package.
func invokedByGoVet(args []string) bool {
	for _, arg := range args {
		name := strings.TrimLeft(arg, "-")
		if !strings.HasPrefix(arg, "-") {
			continue
		}
		if name == "flags" || name == "V" || strings.HasPrefix(name, "V=") {
			return true
		}
	}
	return len(args) > 0 && strings.HasSuffix(args[len(args)-1], ".cfg")
}
