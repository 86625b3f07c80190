package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/govkit/govern/internal/scaffold"
)

func newGenerateCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Regenerate a service's generated code from its protos (no protoc needed)",
		Long: `generate compiles the protos named by buf.gen.yaml in process and runs its
local plugins (go tool protoc-gen-go, ...), rewriting only generated files:
a file at a plugin output path without a "Code generated ... DO NOT EDIT."
line is never overwritten.`,
		Example: `  cd payment && go tool govscaffold generate
  govscaffold generate --dir ./payment`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			written, err := scaffold.Generate(cmd.Context(), dir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			for _, w := range written {
				fmt.Fprintln(cmd.OutOrStdout(), w)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "service root (where buf.gen.yaml is)")
	return cmd
}
