#!/usr/bin/env bash
# compare.sh measures govern-lint against go vet's default analyzers on a
# real module from the module cache, in the same run, and prints the
# findings and wall times that docs/lint.md records.
#
# usage: lint/bench/compare.sh [module [version]]
#   module   defaults to google.golang.org/grpc
#   version  defaults to the version this repository's go.mod selects
#
# The module is copied to a temporary directory (the module cache is read
# only), its dependencies are downloaded with the ordinary go command, and
# the build cache is warmed once so that every tool starts from compiled
# dependencies. Each tool then runs REPEAT times (default 2) over ./...,
# test files included, with go vet's result cache bypassed (see run_vet);
# the best wall time is reported, with its CPU time.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
module=${1:-google.golang.org/grpc}
version=${2:-$(cd "$root" && go list -m -f '{{.Version}}' "$module")}
repeat=${REPEAT:-2}

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

src=$(cd "$root" && go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$src" ]; then
  echo "compare.sh: go mod download did not report a Dir for $module@$version" >&2
  exit 1
fi
cp -r "$src" "$work/mod"
chmod -R u+w "$work/mod"
(cd "$root" && go build -o "$work/govern-lint" ./cmd/govern-lint)

cd "$work/mod"
export GOWORK=off GOFLAGS=-mod=mod
go mod download
npkgs=$(go list ./... 2>/dev/null | wc -l)

echo "module: $module@$version ($npkgs packages, go $(go env GOVERSION), $(nproc) CPUs)"
echo "warming the build cache..."
go vet ./... >/dev/null 2>&1 || true

# go vet caches its results (keyed by the vet tool's ID and flags), so
# every measured run busts that cache: go vet's default analyzers get a
# -printf.funcs value naming no function (no effect on findings), and
# govern-lint runs as a copy with a few bytes appended, which changes the
# build ID it reports to go vet. Compiled dependencies stay cached for all.
run_vet() { go vet -printf.funcs="nocache_$1_$RANDOM" ./...; }
run_vettool() {
  local tool="$work/govern-lint-$1"
  cp "$work/govern-lint" "$tool"
  printf 'nocache %s %s' "$1" "$RANDOM" >>"$tool"
  go vet -vettool="$tool" ./...
}
run_standalone() { "$work/govern-lint" ./...; }

# best_of runs a command $repeat times (passing the run number), keeps its
# last output in $1 and prints "wall cpu" of the run with the best wall
# time, in seconds; cpu is user+system time of the command and its
# children, the steadier number on a shared machine where wall time
# includes waiting for other work.
best_of() {
  local out=$1; shift
  local best="" best_cpu=""
  for i in $(seq "$repeat"); do
    local times real user sys
    times=$( { TIMEFORMAT='%R %U %S'; time ("$@" "$i" >"$out" 2>&1 || true); } 2>&1 )
    read -r real user sys <<<"$times"
    if [ -z "$best" ] || [ "$(echo "$real < $best" | bc)" = 1 ]; then
      best=$real
      best_cpu=$(echo "$user + $sys" | bc)
    fi
  done
  echo "$best $best_cpu"
}

read -r vet vet_cpu < <(best_of "$work/vet.out" run_vet)
read -r vettool vettool_cpu < <(best_of "$work/vettool.out" run_vettool)
read -r standalone standalone_cpu < <(best_of "$work/standalone.out" run_standalone)

count() { grep -cE '^[^#].*\.go:[0-9]+:[0-9]+: ' "$1" || true; }
echo
row() { printf '%-36s %8.2f %6.2f %8.2f %6.2f %9s\n' "$1" "$2" "$(echo "$2 / $vet" | bc -l)" "$3" "$(echo "$3 / $vet_cpu" | bc -l)" "$4"; }
printf '%-36s %8s %6s %8s %6s %9s\n' "tool" "wall(s)" "ratio" "cpu(s)" "ratio" "findings"
row "go vet (default analyzers)" "$vet" "$vet_cpu" "$(count "$work/vet.out")"
row "go vet -vettool=govern-lint" "$vettool" "$vettool_cpu" "$(count "$work/vettool.out")"
row "govern-lint (standalone)" "$standalone" "$standalone_cpu" "$(count "$work/standalone.out")"
echo
echo "govern-lint findings (standalone):"
sed "s|$work/mod/||" "$work/standalone.out"
