#!/usr/bin/env bash
# Runs the real protoc with the four generators a governed service needs:
# protoc-gen-go, protoc-gen-go-grpc and protoc-gen-grpc-gateway at the
# versions go.mod's tool directives pin, and protoc-gen-govern built from this
# checkout. govern/v1/govern.proto and google/api/*.proto (from grpc-gateway
# v1.16.0's third_party tree in the module cache, never copied into the repo)
# are on the import path.
#
#   scripts/protoc-all.sh OUT GOVERN_OPT [protoc arguments: -I dirs, .proto files]
#
# Every generated tree in the repository (examples/order, internal/testpb) is
# produced by this one recipe, so they cannot drift apart.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 OUT GOVERN_OPT [-I DIR]... FILE.proto..." >&2; exit 2; }
out=$1 govern_opt=$2
shift 2
root="$(cd "$(dirname "$0")/.." && pwd)"

command -v protoc >/dev/null || { echo "protoc-all.sh: protoc not found; install protobuf-compiler (3.21 or newer)" >&2; exit 1; }

bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
(cd "$root" && go build -o "$bin/" \
  google.golang.org/protobuf/cmd/protoc-gen-go \
  google.golang.org/grpc/cmd/protoc-gen-go-grpc \
  github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway \
  ./cmd/protoc-gen-govern)

googleapis="$(cd "$root" && go mod download -json github.com/grpc-ecosystem/grpc-gateway@v1.16.0 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/third_party/googleapis"
[ -f "$googleapis/google/api/annotations.proto" ] || { echo "protoc-all.sh: google/api/annotations.proto not found under $googleapis" >&2; exit 1; }

protoc "$@" -I "$root/proto" -I "$googleapis" \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" \
  --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
  --plugin=protoc-gen-grpc-gateway="$bin/protoc-gen-grpc-gateway" \
  --plugin=protoc-gen-govern="$bin/protoc-gen-govern" \
  --go_out="$out" --go_opt=paths=source_relative \
  --go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
  --grpc-gateway_out="$out" --grpc-gateway_opt=paths=source_relative \
  --govern_out="$out" --govern_opt="$govern_opt"
