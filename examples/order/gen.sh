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

command -v protoc >/dev/null || { echo "gen.sh: protoc not found; install protobuf-compiler (3.21 or newer)" >&2; exit 1; }

bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
go build -o "$bin/protoc-gen-go-grpc" google.golang.org/grpc/cmd/protoc-gen-go-grpc
go build -o "$bin/protoc-gen-grpc-gateway" github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway
go build -o "$bin/protoc-gen-govern" ./cmd/protoc-gen-govern

# google/api/*.proto ship in grpc-gateway v1's third_party tree; v2 no
# longer vendors them.
googleapis="$(go mod download -json github.com/grpc-ecosystem/grpc-gateway@v1.16.0 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/third_party/googleapis"
[ -f "$googleapis/google/api/annotations.proto" ] || { echo "gen.sh: google/api/annotations.proto not found under $googleapis" >&2; exit 1; }

out="${GEN_OUT:-$here/gen}"
rm -rf "$out/order"
mkdir -p "$out"
# -I /usr/include is where Debian's protobuf-compiler keeps the well-known
# types; protoc finds them there on its own too.
protoc \
  -I "$here/proto" -I "$root/proto" -I "$googleapis" \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" \
  --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
  --plugin=protoc-gen-grpc-gateway="$bin/protoc-gen-grpc-gateway" \
  --plugin=protoc-gen-govern="$bin/protoc-gen-govern" \
  --go_out="$out" --go_opt=paths=source_relative \
  --go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
  --grpc-gateway_out="$out" --grpc-gateway_opt=paths=source_relative \
  --govern_out="$out" --govern_opt=paths=source_relative,openapi=true \
  "$here/proto/order/v1/order.proto"
echo "gen.sh: wrote $(cd "$out" && find . -type f | sort | tr '\n' ' ')"
