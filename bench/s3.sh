#!/usr/bin/env bash
# S3 listener throughput beside the store, same run: PUT and GET of 4 KiB,
# 1 MiB and 64 MiB objects with 8 concurrent clients (aws-sdk-go-v2 over
# TLS) against the same work done directly on the store. Prints the
# listener/store ratio of each; target >= 0.7 for 1 MiB and 64 MiB.
# Usage: bench/s3.sh [benchtime]   (default 20x)
set -euo pipefail
cd "$(dirname "$0")/.."
bt=${1:-20x}
out=$(go test -run '^$' -bench 'BenchmarkConcurrent' -benchtime "$bt" ./s3/ | tee /dev/stderr)
echo
printf '%-6s %-6s %12s %12s %7s\n' op size "listener MB/s" "store MB/s" ratio
echo "$out" | awk '
/^BenchmarkConcurrent\// {
	split($1, p, "/"); op=p[2]; size=p[3]; via=p[4]; sub(/-[0-9]+$/, "", via)
	for (i = 1; i <= NF; i++) if ($(i+1) == "MB/s") mbs[op" "size" "via] = $i
	key[op" "size] = 1
}
END {
	for (k in key) {
		l = mbs[k" listener"]; s = mbs[k" store"]
		split(k, q, " ")
		printf "%-6s %-6s %12.1f %12.1f %7.2f\n", q[1], q[2], l, s, (s > 0 ? l / s : 0)
	}
}' | sort
