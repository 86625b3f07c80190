// Command migrate is a one-shot tool: it starts no server, so the audit must
// not list it as an ungoverned service.
package main

import (
	"flag"
	"fmt"
)

func main() {
	dryRun := flag.Bool("dry-run", false, "print the steps only")
	flag.Parse()
	fmt.Println("migrating; dry run:", *dryRun)
}
