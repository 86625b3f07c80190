package main

import (
	"fmt"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/govkit/govern/internal/configcheck"
)

func newValidateConfigCommand() *cobra.Command {
	var (
		strict        bool
		regions       []string
		regionPattern string
		dialRegistry  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "validate-config FILE",
		Short: "Check a deployment config: labels, region, timeouts vs upstream P99, sampling",
		Long: `validate-config checks a service's config.yaml:
  - the service, env and region labels are set;
  - region is in the allowed set (--allowed-regions, default: cloud region
    syntax such as us-west-2 or europe-west4);
  - each upstream timeout is at most 1.5 x that upstream's p99;
  - production sampling is at most 0.01 (1%);
  - the discovery block names a known registry (etcd, consul, dns) with
    host:port endpoints, valid colour, ttl and probe settings; with
    --dial-registry each registry endpoint must also accept a connection.
Every finding is printed as file:line: message. Exit status 1 on errors (and
on warnings with --strict), 0 when clean.`,
		Example: `  govscaffold validate-config config.yaml
  govscaffold validate-config --strict --allowed-regions us-west-2,eu-central-1 deploy/config.yaml
  govscaffold validate-config --region-pattern '^(us|eu)-[a-z]+-[0-9]$' config.yaml
  govscaffold validate-config --dial-registry 2s config.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := []configcheck.Option{configcheck.WithStrict(strict), configcheck.WithAllowedRegions(regions...)}
			if regionPattern != "" {
				re, err := regexp.Compile(regionPattern)
				if err != nil {
					return fmt.Errorf("--region-pattern: %w (write a Go regular expression such as ^(us|eu)-[a-z]+-[0-9]$)", err)
				}
				opts = append(opts, configcheck.WithRegionPattern(re))
			}
			if dialRegistry > 0 {
				opts = append(opts, configcheck.WithDialCheck(dialRegistry))
			}
			report, err := configcheck.CheckFile(args[0], opts...)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), report)
			if report.Failed() {
				return exitError{reason: fmt.Sprintf("%s: %d finding(s)", args[0], len(report.Findings))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "fail on warnings too (unknown keys, timeouts without p99, non-standard env)")
	cmd.Flags().StringSliceVar(&regions, "allowed-regions", nil, "comma-separated allowed regions, replacing the default region syntax check")
	cmd.Flags().StringVar(&regionPattern, "region-pattern", "", "regular expression regions must match, replacing the default cloud region syntax")
	cmd.Flags().DurationVar(&dialRegistry, "dial-registry", 0, "connect to every discovery registry endpoint within this timeout and report the unreachable ones")
	return cmd
}
