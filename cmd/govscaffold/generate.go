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
		Long: `generate compiles the protos of buf.gen.yaml's inputs in process (no protoc
or buf needed) and runs its local plugins, rewriting only generated files: a
file at a plugin output path without a "Code generated ... DO NOT EDIT." line
is never overwritten.

Inputs are found as buf finds them: each "- directory:" under inputs, or the
service root when there are none; a directory with a buf.yaml contributes its
modules (v2 "modules: - path: proto") and their excludes. Plugins run as
written: "local: protoc-gen-go" from PATH, "local: [go, tool, protoc-gen-go]"
from the service's go.mod tool directives.`,
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
