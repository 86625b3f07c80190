package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// config is everything main reads from flags and the environment.
type config struct {
	GRPCAddr  string
	HTTPAddr  string
	AdminAddr string

	// RedisAddr selects the Redis idempotency store (shared by replicas)
	// and the Redis readiness check; empty keeps both in process.
	RedisAddr string

	Service string
	Env     string
	Region  string
	Version string

	// CreateLatency stands in for payment authorisation inside CreateOrder.
	CreateLatency time.Duration
	// MaintenanceFile, when set, fails readiness while the file exists: an
	// operator takes a replica out of rotation with `touch`.
	MaintenanceFile string

	DrainDelay      time.Duration
	ShutdownTimeout time.Duration
	Pprof           bool
	LogLevel        slog.Level
}

// envPrefix prefixes every environment variable of the example.
const envPrefix = "ORDER_"

// parseConfig reads flags from args; every flag defaults to its environment
// variable (ORDER_ + the flag name upper-cased with '-' as '_'), then to the
// built-in default. Flags win over the environment.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("order", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var problems []error
	str := func(p *string, name, def, usage string) {
		if v := getenv(envName(name)); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, usage+" (env "+envName(name)+")")
	}
	dur := func(p *time.Duration, name string, def time.Duration, usage string) {
		if v := getenv(envName(name)); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s=%q: %w", envName(name), v, err))
			} else {
				def = d
			}
		}
		fs.DurationVar(p, name, def, usage+" (env "+envName(name)+")")
	}
	boolean := func(p *bool, name string, def bool, usage string) {
		if v := getenv(envName(name)); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s=%q: %w", envName(name), v, err))
			} else {
				def = b
			}
		}
		fs.BoolVar(p, name, def, usage+" (env "+envName(name)+")")
	}
	var level string
	str(&cfg.GRPCAddr, "grpc-addr", ":50051", "gRPC listen address")
	str(&cfg.HTTPAddr, "http-addr", ":8081", "HTTP gateway listen address")
	str(&cfg.AdminAddr, "admin-addr", ":9081", "admin (health, metrics, pprof) listen address; keep it off the public network")
	str(&cfg.RedisAddr, "redis-addr", "", "Redis host:port for the shared idempotency store, distributed rate limits and readiness; several comma-separated addresses (a,b,c) are a Redis Cluster; empty uses an in-process store")
	str(&cfg.Service, "service", "order", "service label on every metric series")
	str(&cfg.Env, "env", "dev", "env label on every metric series")
	str(&cfg.Region, "region", "local", "region label on every metric series")
	str(&cfg.Version, "version", "dev", "version reported by /healthz")
	dur(&cfg.CreateLatency, "create-latency", 0, "simulated payment authorisation time inside CreateOrder")
	str(&cfg.MaintenanceFile, "maintenance-file", "", "readiness fails while this file exists")
	dur(&cfg.DrainDelay, "drain-delay", 5*time.Second, "time between readiness going false and listeners closing on SIGTERM")
	dur(&cfg.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "bound on draining in-flight calls")
	boolean(&cfg.Pprof, "pprof", false, "serve /debug/pprof/ on the admin port")
	str(&level, "log-level", "info", "debug, info, warn or error")
	if len(problems) > 0 {
		return config{}, errors.Join(problems...)
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q: every setting is a flag", fs.Args())
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return config{}, fmt.Errorf("-log-level %q: use debug, info, warn or error", level)
	}
	for name, v := range map[string]string{"service": cfg.Service, "env": cfg.Env, "region": cfg.Region} {
		if v == "" {
			return config{}, fmt.Errorf("-%s must not be empty: it labels every metric series", name)
		}
	}
	return cfg, nil
}

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
