package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/govkit/govern/internal/scaffold"
)

func newNewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "new",
		Short:   "Create something new (see: new service)",
		Example: `  govscaffold new service payment`,
	}
	cmd.AddCommand(newServiceCommand())
	return cmd
}

func newServiceCommand() *cobra.Command {
	var opts scaffold.Options
	cmd := &cobra.Command{
		Use:   "service NAME",
		Short: "Write a complete governed service that builds, tests and serves right away",
		Long: `service writes a new service: go.mod (code generators as tool directives), a
proto with govern options and google.api.http routes, buf.yaml and
buf.gen.yaml, the generated code (compiled in process: no protoc needed),
cmd/NAME/main.go (explicit muxes, server timeouts, graceful shutdown, admin
port), config.yaml, Makefile, Dockerfile, Kubernetes manifests and a test
that calls the service through gRPC and the gateway.

Existing files are never overwritten without --force. Templates can be
overridden by relative path with --template-dir or a .govscaffold/templates
directory in the target (start from: govscaffold templates export DIR).`,
		Example: `  # from inside a govern checkout (the replace directive is detected)
  govscaffold new service payment --module example.com/payment --out ./payment
  cd payment && go test ./... && go run ./cmd/payment

  # gold tier, Redis idempotency store, no HTTP gateway
  govscaffold new service ledger --tier gold --redis --http=false --govern-path ~/src/govern

  # HTTP-first, from an OpenAPI document with x-govern extensions
  govscaffold new service orders --from-openapi api.yaml --out ./orders`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			opts.Progress = cmd.ErrOrStderr()
			res, err := scaffold.NewService(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d files and generated %d into %s\nnext: cd %s && go test ./... && go run ./cmd/%s\n",
				len(res.Written), len(res.Generated), res.Dir, res.Dir, opts.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Module, "module", "", "Go module path (default example.com/NAME)")
	f.StringVar(&opts.OutDir, "out", "", "output directory (default ./NAME)")
	f.StringVar(&opts.Tier, "tier", "silver", "SLA tier of the service: gold, silver or bronze")
	f.BoolVar(&opts.HTTP, "http", true, "serve the HTTP/JSON gateway beside gRPC")
	f.BoolVar(&opts.Redis, "redis", false, "use the Redis idempotency store (for several replicas) instead of in-memory")
	f.StringVar(&opts.Registry, "registry", "", "service-discovery backend the binary links and registers in (etcd, consul or dns); the config's discovery.registry must name it (default: none, fixed addresses)")
	f.BoolVar(&opts.Force, "force", false, "overwrite existing files")
	f.StringVar(&opts.TemplateDir, "template-dir", "", "directory of templates overriding the embedded ones by relative path (default OUT/"+filepath.ToSlash(scaffold.OverrideDirName)+" when present)")
	f.StringVar(&opts.FromOpenAPI, "from-openapi", "", "make an HTTP-first service from this OpenAPI 3 document (YAML or JSON) and its x-govern extensions, with oapi-codegen's std net/http strict server")
	f.StringVar(&opts.GovernPath, "govern-path", "", "local govern checkout for the go.mod replace directive (detected when run inside one)")
	return cmd
}
