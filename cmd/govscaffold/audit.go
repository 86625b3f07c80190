package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/govkit/govern/internal/audit"
)

func newAuditCommand() *cobra.Command {
	var (
		jsonOut bool
		strict  bool
		dir     string
	)
	cmd := &cobra.Command{
		Use:   "audit [packages]",
		Short: "Report, per service (main package), which governance is wired and what govern-lint finds",
		Long: `audit loads the packages (default ./...), finds every main package and
reports for each: whether its gRPC servers and clients get their options or
interceptors from govern, whether the admin endpoints (runtime/admin) are
built, which generated policy tables it uses, and the govern-lint findings
(analyzers run in process). The table is for people, --json for machines.
With --strict the exit status is 1 when any service is not fully governed.`,
		Example: `  govscaffold audit ./...
  govscaffold audit --json ./services/... > audit.json
  govscaffold audit --strict --dir ~/src/fleet ./...`,
		RunE: func(cmd *cobra.Command, args []string) error {
			report, err := audit.Run(cmd.Context(), audit.Config{
				Dir:       dir,
				Patterns:  args,
				Analyzers: audit.DefaultAnalyzers(),
				Progress:  cmd.ErrOrStderr(),
			})
			if err != nil {
				return err
			}
			if jsonOut {
				err = audit.WriteJSON(cmd.OutOrStdout(), report)
			} else {
				err = audit.WriteTable(cmd.OutOrStdout(), report)
			}
			if err != nil {
				return err
			}
			if strict {
				for _, s := range report.Services {
					if !s.Governed() {
						return exitError{reason: fmt.Sprintf("%s is not fully governed", s.Package)}
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON instead of a table")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit 1 when any service is not fully governed")
	cmd.Flags().StringVar(&dir, "dir", ".", "directory the package patterns are relative to")
	return cmd
}
