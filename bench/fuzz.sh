#!/usr/bin/env bash
# Runs every Fuzz target of the repository (found as .ci/test finds them:
# `func FuzzXxx` in each package's _test.go files) for DURATION each, one
# after the other, and prints per target the executions, the new
# interesting inputs and the result. A crasher is written by `go test` to
# the package's testdata/fuzz/FuzzXxx/ and named in the summary.
#
#   bench/fuzz.sh [DURATION]        # default 5m, e.g. 60s
#
# WORMFS_FUZZ_PARALLEL sets -parallel (default 2: the machine is shared).
set -uo pipefail
cd "$(dirname "$0")/.."
dur=${1:-5m}
par=${WORMFS_FUZZ_PARALLEL:-2}
logdir=${TMPDIR:-/tmp}/wormfs-fuzz-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$logdir"
summary=$logdir/summary.txt
printf '%-45s %-32s %14s %12s %s\n' package target execs interesting result | tee "$summary"
failed=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		log=$logdir/$(basename "$pkg")-$f.log
		go test -run '^$' -fuzz "^${f}\$" -fuzztime "$dur" -parallel "$par" "$pkg" >"$log" 2>&1
		rc=$?
		last=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
		new=$(grep -o 'new interesting: [0-9]* (total: [0-9]*)' "$log" | tail -1 | sed 's/new interesting: //')
		if [ $rc -eq 0 ]; then
			result=ok
		else
			failed=$((failed + 1))
			crasher=$(grep -o 'testdata/fuzz/[^ ]*' "$log" | head -1)
			result="FAIL ${crasher:-see $log}"
		fi
		printf '%-45s %-32s %14s %12s %s\n' "$pkg" "$f" "${last:-?}" "${new:-?}" "$result" | tee -a "$summary"
	done
done
echo "fuzz: $dur per target; logs in $logdir; $failed target(s) failed" | tee -a "$summary"
[ $failed -eq 0 ]
