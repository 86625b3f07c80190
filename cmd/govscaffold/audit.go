package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/govkit/govern/internal/audit"
)

func newAuditCommand() *cobra.Command {
	var (
		jsonOut   bool
		strict    bool
		dir       string
		graph     bool
		graphHTML string
	)
	cmd := &cobra.Command{
		Use:   "audit [packages]",
		Short: "Report, per service (main package), which governance is wired and what govern-lint finds",
		Long: `audit loads the packages (default ./...), finds every main package and
reports for each: whether its gRPC servers and clients get their options or
interceptors from govern, whether the admin endpoints (runtime/admin) are
built, which generated policy tables it uses, and the govern-lint findings
(analyzers run in process). The table is for people, --json for machines.
With --strict the exit status is 1 when any service is not fully governed.

--graph draws the fleet map instead: which services each service dials in
its code (generated gRPC clients) and declares in its config.yaml
(upstreams), as a Mermaid flowchart on stdout (paste it in a pull request),
and with --graph-html FILE as an HTML report. Dependencies in the code but
not in the config (implicit) and declared but never dialled (unused) are
marked; with --strict they fail the command.`,
		Example: `  govscaffold audit ./...
  govscaffold audit --json ./services/... > audit.json
  govscaffold audit --strict --dir ~/src/fleet ./...
  govscaffold audit --graph --graph-html fleet.html ./...`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if graph || graphHTML != "" {
				return runGraph(cmd, audit.Config{Dir: dir, Patterns: args, Progress: cmd.ErrOrStderr()}, graphHTML, strict)
			}
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
	cmd.Flags().BoolVar(&graph, "graph", false, "print the fleet map as a Mermaid flowchart instead of the audit")
	cmd.Flags().StringVar(&graphHTML, "graph-html", "", "also write the fleet map as an HTML report to this file (implies --graph)")
	return cmd
}

// runGraph builds the fleet map, prints it as Mermaid and optionally writes
// the HTML report; with strict, implicit and unused dependencies fail.
func runGraph(cmd *cobra.Command, cfg audit.Config, htmlPath string, strict bool) error {
	g, err := audit.BuildGraph(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	if err := audit.WriteMermaid(cmd.OutOrStdout(), g); err != nil {
		return err
	}
	if htmlPath != "" {
		var buf bytes.Buffer
		if err := audit.WriteHTML(&buf, g); err != nil {
			return err
		}
		if err := os.WriteFile(htmlPath, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write the fleet map: %w", err)
		}
	}
	problems := g.Problems()
	for _, p := range problems {
		fmt.Fprintln(cmd.ErrOrStderr(), p)
	}
	if strict && len(problems) > 0 {
		return exitError{reason: fmt.Sprintf("%d undeclared or unused dependencies", len(problems))}
	}
	return nil
}
