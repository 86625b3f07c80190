package oasgov

import "flag"

// go test ./... -update rewrites the golden files of the packages that have
// them; here testdata/*.golden.
var update = flag.Bool("update", false, "rewrite golden files (testdata/*.golden)")
