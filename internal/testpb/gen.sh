#!/usr/bin/env bash
# Regenerates internal/testpb with the real protoc and the plugin versions
# pinned by go.mod's tool directives, plus this repo's protoc-gen-govern.
# Run through `go generate ./internal/testpb/`. An optional argument names
# another output directory (the up-to-date test uses it).
set -euo pipefail
cd "$(dirname "$0")"
root=../..
out=${1:-.}
"$root/scripts/protoc-all.sh" "$out" paths=source_relative,openapi=true \
  -I . testv1/test.proto
