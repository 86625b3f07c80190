package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/govkit/govern/internal/scaffold"
)

func newTemplatesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "templates",
		Short:   "Work with the scaffold templates (see: templates export)",
		Example: `  govscaffold templates export ./my-templates`,
	}
	var force bool
	export := &cobra.Command{
		Use:   "export DIR",
		Short: "Write the embedded templates to DIR for editing and use with --template-dir",
		Long: `export writes every embedded template under DIR with its relative path
(cmd/__name__/main.go.tmpl, ...). Keep the files you change and delete the
rest: a file in the override directory replaces the embedded template of
the same path, and the others stay embedded.`,
		Example: `  govscaffold templates export ./platform-templates
  govscaffold new service payment --template-dir ./platform-templates`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			written, err := scaffold.ExportTemplates(args[0], force)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d templates to %s\n", len(written), args[0])
			return nil
		},
	}
	export.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the templates and where each comes from",
		Example: `  govscaffold templates list --template-dir ./platform-templates`,
		Args:    cobra.NoArgs,
	}
	var dir string
	list.Flags().StringVar(&dir, "template-dir", "", "override directory to lay over the embedded set")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		set, err := scaffold.NewTemplateSet(dir)
		if err != nil {
			return err
		}
		all, err := set.Templates()
		if err != nil {
			return err
		}
		for _, t := range all {
			fmt.Fprintf(cmd.OutOrStdout(), "%-45s %s\n", t.Name, t.Source)
		}
		return nil
	}
	cmd.AddCommand(export, list)
	return cmd
}
