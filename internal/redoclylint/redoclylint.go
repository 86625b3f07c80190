package redoclylint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Version is the @redocly/cli version Install puts in the cache: pinned, so
// a new release's rules cannot turn a green tree red on their own.
const Version = "2.77.0"

// Package is the npm package spec Install installs.
const Package = "@redocly/cli@" + Version

// ErrNoNPM reports that npm is not on PATH.
var ErrNoNPM = errors.New("npm not found on PATH: install Node.js and npm (Debian: apt-get install -y npm)")

// CacheDir is where Install keeps the linter: <user cache>/govern/redocly-<Version>.
func CacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache directory: %w", err)
	}
	return filepath.Join(base, "govern", "redocly-"+Version), nil
}

// InstallCommand is the shell command Install runs, for messages that tell
// a user how to install the linter by hand.
func InstallCommand(dir string) string {
	return "npm install --prefix " + dir + " " + Package
}

// Install returns the path of the redocly executable under dir, installing
// Package there with npm when it is missing.
func Install(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "node_modules", ".bin", "redocly")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", ErrNoNPM
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating the redocly cache directory: %w", err)
	}
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--prefix", dir, Package)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s failed: %w\n%s", InstallCommand(dir), err, out.Bytes())
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%s did not install %s: %w", InstallCommand(dir), bin, err)
	}
	return bin, nil
}

// Lint runs `redocly lint` once over files with the configuration file
// config, and returns its report. The error is non-nil when any file has an
// error or warning under that configuration (--max-problems keeps every
// one in the report).
func Lint(ctx context.Context, redocly, config string, files []string) ([]byte, error) {
	if len(files) == 0 {
		return nil, errors.New("no OpenAPI documents to lint")
	}
	args := append([]string{"lint", "--config", config, "--format", "codeframe", "--max-problems", "1000"}, files...)
	cmd := exec.CommandContext(ctx, redocly, args...)
	// No usage telemetry or update check from a test run.
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("redocly lint found problems (%w)", err)
	}
	return out.Bytes(), nil
}
