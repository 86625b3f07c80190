#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the module, one after the other, for
# FUZZTIME each (default 60s), and prints a summary line per target with
# its executions per second. A failing target's crasher lands in its
# package's testdata/fuzz/<Target>/ (commit it as a regression input);
# the script goes on with the next target and exits 1 at the end.
#
# usage: scripts/fuzz.sh [package patterns]   (default ./...)
#   FUZZTIME=2m scripts/fuzz.sh ./internal/...
set -uo pipefail

cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-60s}
patterns=("$@")
[ ${#patterns[@]} -eq 0 ] && patterns=(./...)

status=0
summary=()
for pkg in $(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' "${patterns[@]}"); do
  targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
  for target in $targets; do
    echo "== $pkg $target ($fuzztime)"
    log=$(mktemp)
    if go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" 2>&1 | tee "$log"; then
      result=ok
    else
      result=FAIL
      status=1
    fi
    # The last progress line: "fuzz: elapsed: 1m0s, execs: 123456 (2057/sec), ..."
    rate=$(grep -o 'execs: [0-9]* ([0-9]*/sec)' "$log" | tail -1)
    summary+=("$result $pkg $target: ${rate:-no progress line}")
    rm -f "$log"
  done
done
echo
printf '%s\n' "${summary[@]}"
exit $status
