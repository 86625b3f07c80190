#!/usr/bin/env bash
# Regenerates internal/testpb with the real protoc and the plugin versions
# pinned by go.mod's tool directives, plus this repo's protoc-gen-govern.
# Run through `go generate ./internal/testpb/`. An optional argument names
# another output directory (the up-to-date test uses it).
set -euo pipefail
cd "$(dirname "$0")"
root=../..
out=${1:-.}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT

go build -o "$bin/" \
  google.golang.org/protobuf/cmd/protoc-gen-go \
  google.golang.org/grpc/cmd/protoc-gen-go-grpc \
  github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway \
  github.com/govkit/govern/cmd/protoc-gen-govern

# google/api/{annotations,http}.proto from the module cache, never copied.
gateway_dir=$(go mod download -json github.com/grpc-ecosystem/grpc-gateway@v1.16.0 |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
googleapis="$gateway_dir/third_party/googleapis"
test -f "$googleapis/google/api/annotations.proto"

protoc -I . -I "$root/proto" -I "$googleapis" \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" \
  --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
  --plugin=protoc-gen-grpc-gateway="$bin/protoc-gen-grpc-gateway" \
  --plugin=protoc-gen-govern="$bin/protoc-gen-govern" \
  --go_out="$out" --go_opt=paths=source_relative \
  --go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
  --grpc-gateway_out="$out" --grpc-gateway_opt=paths=source_relative \
  --govern_out="$out" --govern_opt=paths=source_relative,openapi=true \
  testv1/test.proto
