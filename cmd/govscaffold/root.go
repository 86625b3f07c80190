package main

import "github.com/spf13/cobra"

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "govscaffold",
		Short: "Scaffold, check and audit governed gRPC/HTTP services",
		Long: `govscaffold writes new governed services, regenerates their code without
protoc, checks deployment configs and audits a workspace for services that
are not governed.`,
		Example: `  govscaffold new service payment --module example.com/payment --out ./payment
  govscaffold generate --dir ./payment
  govscaffold validate-config --strict deploy/config.yaml
  govscaffold audit ./...`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newNewCommand(), newGenerateCommand(), newTemplatesCommand(), newValidateConfigCommand(), newAuditCommand())
	return root
}
