#!/usr/bin/env bash
# S3 listener throughput beside the store, same run: PUT and GET of 4 KiB,
# 1 MiB and 64 MiB objects with 8 concurrent clients (aws-sdk-go-v2 over
# TLS) against the same work done directly on the store. Prints the
# median listener/store ratio of each; target >= 0.7 for 1 MiB and 64 MiB.
# Also the same clients against a bare net/http server over the same TLS
# (transport: drops PUT bodies, answers GETs from memory), the ceiling of
# any HTTP listener here: listener/transport is the listener's own cost.
#
# Usage: bench/s3.sh [benchtime] [count]   (defaults 3s and 3)
# A fixed count of operations (e.g. 20x) is too few for small objects: 20
# PUTs of 1 MiB take ~0.1 s, mostly start-up, and two runs differ by more
# than the gap to the target. Each sub-benchmark runs for benchtime and is
# repeated count times, listener and store interleaved; the ratio is of the
# medians.
set -euo pipefail
cd "$(dirname "$0")/.."
bt=${1:-3s}
count=${2:-3}
out=$(go test -run '^$' -bench 'BenchmarkConcurrent' -benchtime "$bt" -count "$count" -timeout 60m ./s3/ | tee /dev/stderr)
echo
printf '%-6s %-6s %14s %12s %15s %7s %7s %7s   %s\n' op size "listener MB/s" "store MB/s" "transport MB/s" "l/store" "l/transp" "t/store" "(each run: listener / store / transport)"
echo "$out" | awk '
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^BenchmarkConcurrent\// {
	split($1, p, "/"); op=p[2]; size=p[3]; via=p[4]; sub(/-[0-9]+$/, "", via)
	for (i = 1; i <= NF; i++) if ($(i+1) == "MB/s") mbs[op" "size" "via] = mbs[op" "size" "via] " " $i
	key[op" "size] = 1
}
END {
	for (k in key) {
		l = median(mbs[k" listener"]); s = median(mbs[k" store"]); t = median(mbs[k" transport"])
		split(k, q, " ")
		printf "%-6s %-6s %14.1f %12.1f %15.1f %7.2f %7.2f %7.2f   %s /%s /%s\n", q[1], q[2], l, s, t, (s > 0 ? l / s : 0), (t > 0 ? l / t : 0), (s > 0 ? t / s : 0), mbs[k" listener"], mbs[k" store"], mbs[k" transport"]
	}
}' | sort
