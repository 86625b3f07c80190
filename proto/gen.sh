#!/usr/bin/env bash
# Regenerates govern/v1/govern.pb.go with protoc and the protoc-gen-go
# pinned by go.mod's tool directive. Run through
# `go generate ./proto/govern/v1/`. An optional argument names another
# output directory (the up-to-date test uses it).
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-.}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/" google.golang.org/protobuf/cmd/protoc-gen-go
protoc -I . --plugin=protoc-gen-go="$bin/protoc-gen-go" \
  --go_out="$out" --go_opt=paths=source_relative govern/v1/govern.proto
