package httpgovern

import "flag"

// go test ./... -update rewrites the golden files of the packages that have
// them. This package has none, but its test binary must accept the flag for
// that one command to run across the whole module.
var _ = flag.Bool("update", false, "rewrite golden files (none in this package)")
