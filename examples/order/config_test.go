package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, c config)
		wantErr string
	}{
		{
			name: "defaults",
			check: func(t *testing.T, c config) {
				if c.GRPCAddr != ":50051" || c.HTTPAddr != ":8081" || c.AdminAddr != ":9081" || c.RedisAddr != "" ||
					c.Service != "order" || c.DrainDelay != 5*time.Second || c.Pprof || c.LogLevel != slog.LevelInfo {
					t.Fatalf("defaults = %+v", c)
				}
			},
		},
		{
			name: "environment",
			env:  map[string]string{"ORDER_REDIS_ADDR": "10.0.0.1:6379", "ORDER_ENV": "prod", "ORDER_REGION": "eu-west-1", "ORDER_PPROF": "true", "ORDER_DRAIN_DELAY": "10s"},
			check: func(t *testing.T, c config) {
				if c.RedisAddr != "10.0.0.1:6379" || c.Env != "prod" || c.Region != "eu-west-1" || !c.Pprof || c.DrainDelay != 10*time.Second {
					t.Fatalf("from env = %+v", c)
				}
			},
		},
		{
			name: "flags win over environment",
			args: []string{"-env", "staging", "-log-level", "debug"},
			env:  map[string]string{"ORDER_ENV": "prod"},
			check: func(t *testing.T, c config) {
				if c.Env != "staging" || c.LogLevel != slog.LevelDebug {
					t.Fatalf("flags over env = %+v", c)
				}
			},
		},
		{name: "bad env duration", env: map[string]string{"ORDER_CREATE_LATENCY": "soon"}, wantErr: "ORDER_CREATE_LATENCY"},
		{name: "bad env bool", env: map[string]string{"ORDER_PPROF": "maybe"}, wantErr: "ORDER_PPROF"},
		{name: "bad log level", args: []string{"-log-level", "loud"}, wantErr: "-log-level"},
		{name: "empty label", args: []string{"-region", ""}, wantErr: "-region must not be empty"},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected arguments"},
		{name: "unknown flag", args: []string{"-port", "1"}, wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseConfig = %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}
