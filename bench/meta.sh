#!/bin/sh
# Benchmarks of the meta store beside raw Badger (same options, same run),
# then the store/raw ratios. COUNT repeats each benchmark (the median is
# used: the machine may be shared). Usage: bench/meta.sh [COUNT]
set -eu
cd "$(dirname "$0")/.."
COUNT=${1:-${COUNT:-3}}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# 1 GiB per operation: a few operations are plenty (a read is ~0.1 s:
# more of them).
go test -run '^$' -bench 'Publish1GiB' -benchtime=3x -count="$COUNT" -timeout 60m ./meta/ | tee "$out"
go test -run '^$' -bench 'Read1GiB' -benchtime=20x -count="$COUNT" -timeout 60m ./meta/ | tee -a "$out"
# 100,000 keys; the full scan is slow by design (it is the contrast).
go test -run '^$' -bench 'ListDelimiter' -benchtime=10x -count=1 -timeout 30m ./meta/ | tee -a "$out"

awk '
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	for (i = 3; i < NF; i++) {
		if ($(i + 1) == "ns/op") ns[name] = ns[name] " " $i
		if ($(i + 1) == "MB/s") mbs[name] = mbs[name] " " $i
		if ($(i + 1) == "cpu-ms/op") cpu[name] = cpu[name] " " $i
		if ($(i + 1) == "keys-scanned/op") keys[name] = $i
	}
	seen[name] = 1
}
END {
	print ""
	print "store / raw Badger (medians; throughput ratio >= 0.8 is the target):"
	for (n in seen) {
		if (n !~ /\/store$/) continue
		base = n; sub(/\/store$/, "", base)
		for (v = 1; v <= 2; v++) {
			r = base (v == 1 ? "/raw" : "/raw-md5")
			if (!(r in seen)) continue
			s = median(mbs[n]); w = median(mbs[r])
			line = sprintf("  %-22s store %7.1f MB/s  %-8s %7.1f MB/s  ratio %.2f", base, s, substr(r, length(base) + 2), w, s / w)
			if (cpu[n] != "" && cpu[r] != "") {
				cs = median(cpu[n]); cr = median(cpu[r])
				line = line sprintf("   cpu per op: store %.0f ms, %s %.0f ms (ratio %.2f)", cs, substr(r, length(base) + 2), cr, cr / cs)
			}
			print line
		}
	}
	d = "BenchmarkListDelimiter/delimiter"; f = "BenchmarkListDelimiter/full-scan"; k = "BenchmarkListDelimiter/raw-key-scan"
	if (d in seen && f in seen) {
		printf "  %-22s %d keys scanned, %.3f ms; full scan %d keys, %.1f ms (%.0fx slower); raw Badger key scan %d keys, %.1f ms\n", \
			"ListDelimiter", keys[d], median(ns[d]) / 1e6, keys[f], median(ns[f]) / 1e6, median(ns[f]) / median(ns[d]), keys[k], median(ns[k]) / 1e6
	}
}' "$out"
