// Command govscaffold is the CLI a platform team hands to every service
// owner: `new service` writes a complete governed service, `generate`
// regenerates its code, `templates export` starts a template override,
// `validate-config` checks a deployment config and `audit` reports how
// governed each service of a workspace is.
//
// The commands are thin: each parses flags and calls an importable,
// tested package (internal/scaffold, internal/configcheck, internal/audit).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		var silent exitError
		if !errors.As(err, &silent) {
			fmt.Fprintln(os.Stderr, "govscaffold:", err)
		}
		os.Exit(1)
	}
}

// exitError makes the process exit 1 without printing anything more: the
// command already reported what went wrong (validate-config findings, audit
// failures).
type exitError struct{ reason string }

func (e exitError) Error() string { return e.reason }
