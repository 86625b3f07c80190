#!/usr/bin/env bash
# Regenerates examples/order/gen from proto/ with real protoc and the
# plugins pinned by the module: protoc-gen-go, protoc-gen-go-grpc and
# protoc-gen-grpc-gateway through go.mod tool directives, protoc-gen-govern
# built from this repository. googleapis (google/api/annotations.proto) is
# read from the module cache, never copied into the tree.
#
#   go generate ./examples/order     (or: bash examples/order/gen.sh)
#
# GEN_OUT=<dir> writes elsewhere (the up-to-date test compares that with gen/).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

out="${GEN_OUT:-$here/gen}"
rm -rf "$out/order"
mkdir -p "$out"
"$root/scripts/protoc-all.sh" "$out" paths=source_relative,openapi=true \
  -I "$here/proto" "$here/proto/order/v1/order.proto"
echo "gen.sh: wrote $(cd "$out" && find . -type f | sort | tr '\n' ' ')"
