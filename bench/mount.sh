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
#   ROUNDS      rounds of the comparison tests, alternating which file system
#               goes first; the table shows medians (default 1)
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
ROUNDS=${ROUNDS:-1}

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
for v in SIZE_MB RAND_SECS NFILES MEM_FILES ROUNDS; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
[ "$SIZE_MB" -gt 0 ] && [ "$RAND_SECS" -gt 0 ] && [ "$NFILES" -gt 0 ] && [ "$ROUNDS" -gt 0 ] ||
	die "SIZE_MB, RAND_SECS, NFILES and ROUNDS must be positive"

mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
need_mb=$(( SIZE_MB * (2 * ROUNDS + 1 + MEM_FILES) + 2048 ))
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
REV=$(git -C "$REPO" log -1 --format=%h 2>/dev/null || echo unknown)
DIRTY=$(git -C "$REPO" status --porcelain -- fs meta cmd 2>/dev/null | wc -l)
[ "$DIRTY" -eq 0 ] || REV="$REV + $DIRTY uncommitted files in fs/meta/cmd"

# Each round runs every test on both file systems back to back; odd rounds
# run loopback first, even rounds wormfs first. The table shows the median
# over the rounds (and every round's figures when ROUNDS > 1).
declare -A V UNIT TARGET
TESTS=("seq write" "seq read" "rand read 4k" create stat readdir unlink)
UNIT=([seq write]=MiB/s [seq read]=MiB/s [rand read 4k]=IOPS [create]=ops/s [stat]=ops/s [readdir]=ops/s [unlink]=ops/s)
TARGET=([seq write]=0.8 [seq read]=0.8 [rand read 4k]=0.7 [create]=0.5 [stat]=0.5 [readdir]=- [unlink]=0.5)

say "start: $(date -u +%FT%TZ) on $(nproc) cores, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), tree $REV"
say "disk of $BENCH_DIR: $(df -P "$BENCH_DIR" | awk 'NR==2 {print $1}')"
start_lo
start_wf "$WF_DATA"
mkdir "$WF_MNT/bench"
declare -A ROOT=([lo]=$LO_MNT [wf]=$WF_MNT/bench)

meta_ops() { awk -v p="$2" '$1 == p { print $4 }' "$1"; }

# Daemon CPU (user+system) in ms from /proc/PID/stat; CPU[test,fs,round]
# is the daemon's CPU per unit of work: ms per MiB, µs per 4 KiB read,
# µs per metadata operation.
cpu_ms() { awk -v t="$(getconf CLK_TCK)" '{ printf "%d", ($14 + $15) * 1000 / t }' "/proc/$1/stat"; }
declare -A CPU DISK
pid_of() { if [ "$1" = lo ]; then echo "$LO_PID"; else echo "$WF_PID"; fi; }

# Sectors read from the disk that holds BENCH_DIR (field 3 of its stat).
DISK_STAT=
disk_dev=$(basename "$(df -P "$BENCH_DIR" | awk 'NR==2 {print $1}')")
[ ! -r "/sys/class/block/$disk_dev/stat" ] || DISK_STAT=/sys/class/block/$disk_dev/stat
sectors_read() { if [ -n "$DISK_STAT" ]; then awk '{print $3}' "$DISK_STAT"; else echo 0; fi; }

# fio_round TEST FS R JOB RW VALUE_KIND CPU_DIVISOR FIO_ARGS...
# Also records DISK[test,fs,round]: MiB read from the disk during the job.
fio_round() {
	local t=$1 fs=$2 r=$3 job=$4 rw=$5 kind=$6 div=$7 pid c0 c1 s0 s1
	shift 7
	pid=$(pid_of "$fs")
	c0=$(cpu_ms "$pid")
	s0=$(sectors_read)
	fio_run "$job" "${ROOT[$fs]}/seq-$r.dat" "$rw" "$@"
	c1=$(cpu_ms "$pid")
	s1=$(sectors_read)
	DISK[$t,$fs,$r]=$(((s1 - s0) / 2048))
	if [ "$kind" = iops ]; then
		V[$t,$fs,$r]=$(fio_iops "$job")
		div=$(jq '.jobs[0].read.total_ios' "$RES/$job.json")
		CPU[$t,$fs,$r]=$(awk -v c=$((c1 - c0)) -v n="$div" 'BEGIN { printf "%.1f", (n > 0) ? c * 1000 / n : 0 }')
	else
		V[$t,$fs,$r]=$(fio_bw "$job" "$kind")
		CPU[$t,$fs,$r]=$(awk -v c=$((c1 - c0)) -v n="$div" 'BEGIN { printf "%.2f", c / n }')
	fi
}

round() { # round R
	local r=$1 order=(lo wf) fs p
	[ $((r % 2)) -eq 1 ] || order=(wf lo)
	say "round $r of $ROUNDS (${order[0]} first): sequential write ${SIZE_MB} MiB, 1 MiB blocks, end_fsync"
	drop_caches
	for fs in "${order[@]}"; do
		fio_round "seq write" "$fs" "$r" "$fs-write-$r" write write "$SIZE_MB" --bs=1M --end_fsync=1
	done
	say "round $r: sequential read, 1 MiB blocks, after remount and drop_caches"
	remount
	for fs in "${order[@]}"; do
		drop_caches
		fio_round "seq read" "$fs" "$r" "$fs-read-$r" read read "$SIZE_MB" --bs=1M
	done
	say "round $r: random read 4 KiB for ${RAND_SECS} s, after remount and drop_caches"
	remount
	for fs in "${order[@]}"; do
		drop_caches
		fio_round "rand read 4k" "$fs" "$r" "$fs-randread-$r" randread iops 0 --bs=4k --time_based --runtime="$RAND_SECS"
	done
	say "round $r: create / stat / readdir / unlink of $NFILES files in one directory"
	for fs in "${order[@]}"; do
		"$BIN/metaops" -dir "${ROOT[$fs]}/meta-$r" -n "$NFILES" -pid "$(pid_of "$fs")" >"$RES/$fs-meta-$r.txt" ||
			die "metaops on $fs failed"
		for p in create stat readdir unlink; do
			V[$p,$fs,$r]=$(meta_ops "$RES/$fs-meta-$r.txt" $p)
			CPU[$p,$fs,$r]=$(awk -v p="$p" '$1 == p { print $5 }' "$RES/$fs-meta-$r.txt")
		done
	done
}
for r in $(seq "$ROUNDS"); do round "$r"; done

median() { # median FORMAT VALUES...: the middle value (mean of the two middle ones)
	local f=$1
	shift
	printf '%s\n' "$@" | sort -g | awk -v f="$f" '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf f, m}'
}
declare -A LO WF LOC WFC
for t in "${TESTS[@]}"; do
	lo=() wf=() loc=() wfc=()
	for r in $(seq "$ROUNDS"); do
		lo+=("${V[$t,lo,$r]}") wf+=("${V[$t,wf,$r]}") loc+=("${CPU[$t,lo,$r]}") wfc+=("${CPU[$t,wf,$r]}")
	done
	f=%.0f
	[ "${UNIT[$t]}" != MiB/s ] || f=%.1f
	LO[$t]=$(median $f "${lo[@]}")
	WF[$t]=$(median $f "${wf[@]}")
	LOC[$t]=$(median %.2f "${loc[@]}")
	WFC[$t]=$(median %.2f "${wfc[@]}")
done
declare -A CPU_UNIT=([seq write]="ms/MiB" [seq read]="ms/MiB" [rand read 4k]="us/read" [create]="us/op" [stat]="us/op" [readdir]="us/entry" [unlink]="us/op")
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
	# Samples every 0.5 s: time, VmRSS, RssAnon (the daemon's own memory:
	# heap, stacks, Badger's tables and caches) and RssFile (file pages
	# mapped into the daemon: Badger mmaps its value-log and memtable files).
	(while kill -0 "$WF_PID" 2>/dev/null; do
		awk -v t="$(date +%s.%N)" '/^VmRSS/ {r = $2} /^RssAnon/ {a = $2} /^RssFile/ {f = $2} END {print t, r, a, f}' "/proc/$WF_PID/status" 2>/dev/null || true
		sleep 0.5
	done) >"$RES/wf-rss.txt" &
	SAMPLER_PID=$!
	: >"$RES/wf-mem-bw.txt"
	for i in $(seq "$MEM_FILES"); do
		fio_run "wf-mem-$i" "$WF_MNT/mem/f$i" write --bs=1M --end_fsync=1
		echo "f$i $(fio_bw "wf-mem-$i" write) MiB/s $(awk '/^(VmRSS|RssAnon|RssFile)/ {printf "%s%s KiB ", $1, $2}' "/proc/$WF_PID/status")" >>"$RES/wf-mem-bw.txt"
	done
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$WF_PID/status")
	kill "$SAMPLER_PID" 2>/dev/null || true
	wait "$SAMPLER_PID" 2>/dev/null || true
	SAMPLER_PID=
	col_max() { awk -v c="$1" 'BEGIN {m = 0} $c > m {m = $c} END {print int(m / 1024)}' "$RES/wf-rss.txt"; }
	rss_max=$(col_max 2) anon_max=$(col_max 3) file_max=$(col_max 4)
	stop_wf
	verdict=pass
	[ "$hwm" -lt $((512 * 1024)) ] || verdict=miss
	averdict=pass
	[ "$anon_max" -lt 512 ] || averdict=miss
	peak_line=$(printf '%-14s %14s %14s %7s %9s %s\n%-14s %14s %14s %7s %9s %s' \
		"peak RSS" "-" "$((hwm / 1024)) MiB" "-" "<512 MiB" "$verdict" \
		"peak RssAnon" "-" "$anon_max MiB" "-" "<512 MiB" "$averdict")
	mem_detail="wormfs memory while writing $MEM_FILES x ${SIZE_MB} MiB: VmHWM $((hwm / 1024)) MiB; highest 0.5 s samples: VmRSS $rss_max MiB, RssAnon $anon_max MiB, RssFile $file_max MiB (RssFile = Badger's mmapped value-log/memtable pages)"
fi

# ---- table ---------------------------------------------------------------
{
	echo
	echo "wormfs mount benchmark, $(date -u +%FT%TZ), $(nproc) cores, kernel $(uname -r), load now $(cut -d' ' -f1-3 /proc/loadavg), tree $REV"
	echo "file ${SIZE_MB} MiB, random read ${RAND_SECS} s, metadata $NFILES files, $ROUNDS round(s) (medians); loopback = go-fuse loopback, MaxWrite 1 MiB, no passthrough"
	printf '%-14s %14s %14s %7s %9s %s\n' test loopback wormfs ratio target result
	for t in "${TESTS[@]}"; do
		ratio=$(awk -v a="${WF[$t]}" -v b="${LO[$t]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
		verdict=-
		if [ "${TARGET[$t]}" != - ]; then
			verdict=$(awk -v r="$ratio" -v g="${TARGET[$t]}" 'BEGIN { print (r + 0 >= g + 0) ? "pass" : "miss" }')
		fi
		tgt=${TARGET[$t]}
		[ "$tgt" = - ] || tgt=">=$tgt"
		printf '%-14s %14s %14s %7s %9s %s\n' "$t" "${LO[$t]} ${UNIT[$t]}" "${WF[$t]} ${UNIT[$t]}" "$ratio" "$tgt" "$verdict"
	done
	[ -z "$peak_line" ] || echo "$peak_line"
	echo "daemon CPU (user+system) per unit of work, median (loopback / wormfs):"
	for t in "${TESTS[@]}"; do
		printf '  %-14s %8s / %-8s %s\n' "$t" "${LOC[$t]}" "${WFC[$t]}" "${CPU_UNIT[$t]}"
	done
	if [ -n "$DISK_STAT" ]; then
		echo "MiB read from $disk_dev during the read tests, per round (loopback / wormfs; the disk is shared):"
		for t in "seq read" "rand read 4k"; do
			printf '  %-14s' "$t"
			for r in $(seq "$ROUNDS"); do printf ' %s: %s / %s' "$r" "${DISK[$t,lo,$r]}" "${DISK[$t,wf,$r]}"; done
			echo
		done
	fi
	if [ "$ROUNDS" -gt 1 ]; then
		echo "per round (loopback / wormfs):"
		for t in "${TESTS[@]}"; do
			printf '  %-14s' "$t"
			for r in $(seq "$ROUNDS"); do printf ' %s: %s / %s' "$r" "${V[$t,lo,$r]}" "${V[$t,wf,$r]}"; done
			echo
		done
	fi
	echo "wormfs VmHWM after the throughput and metadata tests: $((wf_hwm_main / 1024)) MiB"
	[ -z "${mem_detail:-}" ] || echo "$mem_detail"
	echo "raw results: $RES"
} | tee "$RES/table.txt"
