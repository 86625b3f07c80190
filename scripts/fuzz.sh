#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the module, one after the other, for
# FUZZTIME each (default 60s), and prints a summary line per target with
# its executions per second. A failing target's crasher lands in its
# package's testdata/fuzz/<Target>/ (commit it as a regression input);
# the script goes on with the next target and exits 1 at the end.
#
# usage: scripts/fuzz.sh [package patterns]   (default ./...)
#   FUZZTIME=2m scripts/fuzz.sh ./internal/...
#
# Minimisation of each new interesting input is FUZZMINIMIZETIME (default
# 1x: one attempt; go test's own default is 60s per input). While the fuzzer
# minimises, it does not explore, its progress line reports 0/sec and the
# minimisation's executions are not counted, so with go's default a 60s run of
# a target that keeps finding coverage (FuzzRun) spends nearly all its time
# minimising: 23 counted executions in 40 s, against about 1,500/s explored
# with 1x. Set FUZZMINIMIZETIME=60s to get small corpus entries instead.
set -uo pipefail

cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-60s}
minimizetime=${FUZZMINIMIZETIME:-1x}
patterns=("$@")
[ ${#patterns[@]} -eq 0 ] && patterns=(./...)

status=0
summary=()
for pkg in $(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' "${patterns[@]}"); do
  targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
  for target in $targets; do
    echo "== $pkg $target ($fuzztime)"
    log=$(mktemp)
    if go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" 2>&1 | tee "$log"; then
      result=ok
    else
      result=FAIL
      status=1
    fi
    # The last progress line, "fuzz: elapsed: 1m0s, execs: 123456 (0/sec)",
    # carries the total; its rate is the last 3 s only, so divide instead.
    last=$(grep -o 'elapsed: [0-9hms]*, execs: [0-9]*' "$log" | tail -1)
    execs=${last##*execs: }
    secs=$(echo "${last%%,*}" | sed 's/elapsed: //; s/h/*3600+/; s/m/*60+/; s/s//; s/+$//' | bc 2>/dev/null)
    if [ -n "$execs" ] && [ -n "$secs" ] && [ "$secs" -gt 0 ]; then
      rate="$execs execs in ${secs}s, $((execs / secs))/sec"
    else
      rate="no progress line"
    fi
    summary+=("$result $pkg $target: $rate")
    rm -f "$log"
  done
done
echo
printf '%s\n' "${summary[@]}"
exit $status
