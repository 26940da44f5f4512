#!/usr/bin/env bash
# bench/mount.sh — the mount benchmarks of wormfs against go-fuse's loopback
# file system, on the same disk, in the same run. See bench/README.md.
#
# Run as root from anywhere inside the repository:
#   sudo bench/mount.sh
# Settings (environment variables):
#   BENCH_DIR   work directory; data dirs and mount points go under it, so both
#               file systems use the same disk (default /var/tmp/wormfs-bench)
#   SIZE_MB     size of the fio file (default 1024)
#   RAND_SECS   duration of the 4 KiB random-read test (default 20)
#   NFILES      files of the metadata test (default 10000)
#   MEM_FILES   files of SIZE_MB written for the memory test (default 10; 0 skips it)
#   KEEP        1 keeps the data directories afterwards (default: removed)
#
# Prerequisites: root, /dev/fuse, Go (to build wormfs, the loopback baseline
# and bench/metaops), fio and jq (Debian: apt-get install fio jq).
set -euo pipefail

BENCH_DIR=${BENCH_DIR:-/var/tmp/wormfs-bench}
SIZE_MB=${SIZE_MB:-1024}
RAND_SECS=${RAND_SECS:-20}
NFILES=${NFILES:-10000}
MEM_FILES=${MEM_FILES:-10}
KEEP=${KEEP:-0}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() { echo "mount.sh: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }

# ---- prerequisites -------------------------------------------------------
missing=()
[ "$(id -u)" -eq 0 ] || missing+=("root (run with sudo: wormfs and the baseline mount directly and drop_caches needs root)")
[ -c /dev/fuse ] || missing+=("/dev/fuse (load the fuse module: modprobe fuse)")
command -v go >/dev/null || missing+=("go (Go toolchain, to build the binaries)")
command -v fio >/dev/null || missing+=("fio (Debian: apt-get install fio)")
command -v jq >/dev/null || missing+=("jq (Debian: apt-get install jq)")
command -v mountpoint >/dev/null || missing+=("mountpoint (Debian: util-linux)")
if [ ${#missing[@]} -gt 0 ]; then
	echo "mount.sh: missing prerequisites:" >&2
	printf '  - %s\n' "${missing[@]}" >&2
	exit 2
fi
for v in SIZE_MB RAND_SECS NFILES MEM_FILES; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
[ "$SIZE_MB" -gt 0 ] && [ "$RAND_SECS" -gt 0 ] && [ "$NFILES" -gt 0 ] || die "SIZE_MB, RAND_SECS and NFILES must be positive"

mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
need_mb=$(( SIZE_MB * (3 + MEM_FILES) + 2048 ))
avail_mb=$(( $(df -Pk "$BENCH_DIR" | awk 'NR==2 {print $4}') / 1024 ))
[ "$avail_mb" -ge "$need_mb" ] || die "$BENCH_DIR has $avail_mb MiB free, the run needs about $need_mb MiB"

BIN=$BENCH_DIR/bin
RES=$BENCH_DIR/results
LO_DATA=$BENCH_DIR/loopback.data
LO_MNT=$BENCH_DIR/loopback.mnt
WF_DATA=$BENCH_DIR/wormfs.data
WF_MEM_DATA=$BENCH_DIR/wormfs-mem.data
WF_MNT=$BENCH_DIR/wormfs.mnt
LOG=$BENCH_DIR/daemons.log
for m in "$LO_MNT" "$WF_MNT"; do
	if mountpoint -q "$m" 2>/dev/null; then die "$m is still mounted (an earlier run?); umount -l it first"; fi
done
rm -rf "$RES" "$LO_DATA" "$WF_DATA" "$WF_MEM_DATA"
mkdir -p "$BIN" "$RES" "$LO_DATA" "$LO_MNT" "$WF_DATA" "$WF_MNT"
: >"$LOG"

# ---- daemons -------------------------------------------------------------
LO_PID=
WF_PID=
SAMPLER_PID=

stop_pid() { # stop_pid PID: SIGTERM (the daemons unmount on it), wait up to 30 s
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	echo "mount.sh: pid $pid did not stop after SIGTERM; killing it" >&2
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	[ -z "$SAMPLER_PID" ] || { kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; }
	stop_pid "$WF_PID"
	stop_pid "$LO_PID"
	for m in "$LO_MNT" "$WF_MNT"; do
		if mountpoint -q "$m" 2>/dev/null || grep -qs " $m fuse" /proc/mounts; then
			echo "mount.sh: $m still mounted; lazy unmount" >&2
			umount -l "$m" || true
		fi
	done
	if [ "$KEEP" != 1 ]; then rm -rf "$LO_DATA" "$WF_DATA" "$WF_MEM_DATA"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_ready() { # wait_ready PID PATTERN COUNT_BEFORE NAME
	local pid=$1 pat=$2 before=$3 name=$4 i
	for i in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || { tail -20 "$LOG" >&2; die "$name exited before it was ready"; }
		[ "$(grep -c -- "$pat" "$LOG" || true)" -gt "$before" ] && return 0
		sleep 0.1
	done
	tail -20 "$LOG" >&2
	die "$name not ready after 30 s"
}

start_lo() {
	local before
	before=$(grep -c "loopback: ready" "$LOG" || true)
	"$BIN/loopback" "$LO_MNT" "$LO_DATA" 2>>"$LOG" &
	LO_PID=$!
	wait_ready "$LO_PID" "loopback: ready" "$before" loopback
}

start_wf() { # start_wf DATA_DIR
	local before
	before=$(grep -c "wormfs: ready" "$LOG" || true)
	"$BIN/wormfs" serve --data "$1" --mount "$WF_MNT" --s3 "" 2>>"$LOG" &
	WF_PID=$!
	wait_ready "$WF_PID" "wormfs: ready" "$before" wormfs
}

stop_lo() { stop_pid "$LO_PID"; LO_PID=; }
stop_wf() { stop_pid "$WF_PID"; WF_PID=; }

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# remount: stop both daemons and start them again over the same data, then
# drop the page cache, so the next read goes through FUSE to the disk.
remount() {
	stop_lo; stop_wf
	start_lo; start_wf "$WF_DATA"
	drop_caches
}

kib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; } # KiB/s -> MiB/s

# fio_run NAME FILE RW EXTRA... : runs one fio job and leaves its JSON in $RES.
fio_run() {
	local name=$1 file=$2 rw=$3
	shift 3
	fio --name="$name" --filename="$file" --rw="$rw" --size="${SIZE_MB}M" \
		--ioengine=psync --fallocate=none --output-format=json "$@" \
		>"$RES/$name.json" 2>"$RES/$name.err" ||
		{ cat "$RES/$name.err" >&2; die "fio $name failed"; }
}
fio_bw() { kib "$(jq '.jobs[0].'"$2"'.bw' "$RES/$1.json")"; }
fio_iops() { jq '.jobs[0].read.iops | floor' "$RES/$1.json"; }

# ---- build ---------------------------------------------------------------
say "building wormfs, the loopback baseline and metaops into $BIN"
(cd "$REPO" && go build -o "$BIN/wormfs" ./cmd/wormfs && go build -o "$BIN/loopback" ./bench/loopback &&
	go build -o "$BIN/metaops" ./bench/metaops) || die "build failed"

declare -A LO WF UNIT TARGET
TESTS=()
record() { # record TEST UNIT TARGET LOOPBACK WORMFS
	TESTS+=("$1"); UNIT[$1]=$2; TARGET[$1]=$3; LO[$1]=$4; WF[$1]=$5
}

say "start: $(date -u +%FT%TZ) on $(nproc) cores, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "disk of $BENCH_DIR: $(df -P "$BENCH_DIR" | awk 'NR==2 {print $1}')"
start_lo
start_wf "$WF_DATA"
mkdir "$WF_MNT/bench"
LO_FILE=$LO_MNT/seq.dat
WF_FILE=$WF_MNT/bench/seq.dat

# ---- sequential write, read, random read ----------------------------------
drop_caches
say "sequential write ${SIZE_MB} MiB, 1 MiB blocks, end_fsync (loopback, then wormfs)"
fio_run lo-write "$LO_FILE" write --bs=1M --end_fsync=1
fio_run wf-write "$WF_FILE" write --bs=1M --end_fsync=1
record "seq write" MiB/s 0.8 "$(fio_bw lo-write write)" "$(fio_bw wf-write write)"

say "sequential read, 1 MiB blocks, after remount and drop_caches"
remount
fio_run lo-read "$LO_FILE" read --bs=1M
drop_caches
fio_run wf-read "$WF_FILE" read --bs=1M
record "seq read" MiB/s 0.8 "$(fio_bw lo-read read)" "$(fio_bw wf-read read)"

say "random read 4 KiB for ${RAND_SECS} s, after remount and drop_caches"
remount
fio_run lo-randread "$LO_FILE" randread --bs=4k --time_based --runtime="$RAND_SECS"
drop_caches
fio_run wf-randread "$WF_FILE" randread --bs=4k --time_based --runtime="$RAND_SECS"
record "rand read 4k" IOPS 0.7 "$(fio_iops lo-randread)" "$(fio_iops wf-randread)"

# ---- metadata ------------------------------------------------------------
say "create / stat / readdir / unlink of $NFILES files in one directory"
"$BIN/metaops" -dir "$LO_MNT/meta" -n "$NFILES" >"$RES/lo-meta.txt" || die "metaops on loopback failed"
"$BIN/metaops" -dir "$WF_MNT/bench/meta" -n "$NFILES" >"$RES/wf-meta.txt" || die "metaops on wormfs failed"
meta_ops() { awk -v p="$2" '$1 == p { print $4 }' "$RES/$1-meta.txt"; }
for p in create stat readdir unlink; do
	t=0.5
	[ "$p" = readdir ] && t=-
	record "$p" ops/s "$t" "$(meta_ops lo $p)" "$(meta_ops wf $p)"
done
wf_hwm_main=$(awk '/^VmHWM/ {print $2}' "/proc/$WF_PID/status")
stop_lo
stop_wf
rm -rf "$WF_DATA" "$LO_DATA"

# ---- memory --------------------------------------------------------------
peak_line=
if [ "$MEM_FILES" -gt 0 ]; then
	say "memory: $MEM_FILES files of ${SIZE_MB} MiB written one after another through a fresh wormfs"
	mkdir -p "$WF_MEM_DATA"
	start_wf "$WF_MEM_DATA"
	mkdir "$WF_MNT/mem"
	(while kill -0 "$WF_PID" 2>/dev/null; do
		awk -v t="$(date +%s.%N)" '/^VmRSS/ {print t, $2}' "/proc/$WF_PID/status" 2>/dev/null || true
		sleep 0.5
	done) >"$RES/wf-rss.txt" &
	SAMPLER_PID=$!
	: >"$RES/wf-mem-bw.txt"
	for i in $(seq "$MEM_FILES"); do
		fio_run "wf-mem-$i" "$WF_MNT/mem/f$i" write --bs=1M --end_fsync=1
		echo "f$i $(fio_bw "wf-mem-$i" write) MiB/s rss=$(awk '/^VmRSS/ {print $2}' "/proc/$WF_PID/status") KiB" >>"$RES/wf-mem-bw.txt"
	done
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$WF_PID/status")
	kill "$SAMPLER_PID" 2>/dev/null || true
	wait "$SAMPLER_PID" 2>/dev/null || true
	SAMPLER_PID=
	sampled=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$RES/wf-rss.txt")
	last=$(tail -1 "$RES/wf-rss.txt" | awk '{print $2}')
	stop_wf
	verdict=pass
	[ "$hwm" -lt $((512 * 1024)) ] || verdict=miss
	peak_line=$(printf '%-14s %12s %12s %7s %9s %s' "peak RSS" "-" "$((hwm / 1024)) MiB" "-" "<512 MiB" "$verdict")
	mem_detail="wormfs RSS while writing $MEM_FILES x ${SIZE_MB} MiB: VmHWM $((hwm / 1024)) MiB, highest 0.5 s sample $((sampled / 1024)) MiB, last sample $((last / 1024)) MiB"
fi

# ---- table ---------------------------------------------------------------
{
	echo
	echo "wormfs mount benchmark, $(date -u +%FT%TZ), $(nproc) cores, kernel $(uname -r), load now $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "file ${SIZE_MB} MiB, random read ${RAND_SECS} s, metadata $NFILES files; loopback = go-fuse loopback, MaxWrite 1 MiB, no passthrough"
	printf '%-14s %12s %12s %7s %9s %s\n' test loopback wormfs ratio target result
	for t in "${TESTS[@]}"; do
		ratio=$(awk -v a="${WF[$t]}" -v b="${LO[$t]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
		verdict=-
		if [ "${TARGET[$t]}" != - ]; then
			verdict=$(awk -v r="$ratio" -v g="${TARGET[$t]}" 'BEGIN { print (r + 0 >= g + 0) ? "pass" : "miss" }')
		fi
		tgt=${TARGET[$t]}
		[ "$tgt" = - ] || tgt=">=$tgt"
		printf '%-14s %12s %12s %7s %9s %s\n' "$t" "${LO[$t]} ${UNIT[$t]}" "${WF[$t]} ${UNIT[$t]}" "$ratio" "$tgt" "$verdict"
	done
	[ -z "$peak_line" ] || echo "$peak_line"
	echo "wormfs VmHWM after the throughput and metadata tests: $((wf_hwm_main / 1024)) MiB"
	[ -z "${mem_detail:-}" ] || echo "$mem_detail"
	echo "raw results: $RES"
} | tee "$RES/table.txt"
