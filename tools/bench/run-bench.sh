#!/usr/bin/env bash
# make bench: the same workloads straight to tgtd over iSCSI ("direct") and
# through libvscsifront -> ring -> scsiback -> libiscsi -> tgtd ("stack"),
# plus the ring alone (null LUNs) and 1/4/16/64 vhosts in one daemon.
# Every point runs BENCH_RUNS times (default 3); the table shows
# min/median/max and the stack/direct ratio of the medians; the results go
# to build/bench/results.json.
#   run-bench.sh BUILD_DIR
# Environment: BENCH_RUNS, BENCH_TIME (s per run, default 5), BENCH_QUICK=1.
set -u
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
runs=${BENCH_RUNS:-3}
secs=${BENCH_TIME:-5}
out=$build/bench
mkdir -p "$out"
work=$(mktemp -d /dev/shm/vscsi-bench-XXXXXX)
raw=$out/raw.jsonl
: >"$raw"
xensim=$build/tools/xensim/xensim
gen=$build/tools/bench/vscsi-bench
export XENSIM_RUNDIR=$work/sim
sbpid=
cleanup() {
	[ -n "$sbpid" ] && kill "$sbpid" 2>/dev/null && sleep 0.5
	"$xensim" stop >/dev/null 2>&1
	# the tgtd tunables below (glibc malloc thresholds) are in the lab's environment
	bash "$src/tests/support/tgtd-lab.sh" stop "$work/tgt" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

say() { echo "bench: $*" >&2; }

# A tgtd whose glibc does not fault on every large buffer, with large PDUs
# for 1 MiB writes. tgtd allocates a data buffer per command; with glibc's
# default thresholds the memory goes back to the kernel after each one, so
# every 1 MiB I/O faults its 256 pages in again and 1 MiB reads measure
# tgtd's page faults, not us. These tunables keep the memory.
say "starting tgtd (tuned) on /dev/shm"
MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=67108864 \
	bash "$src/tests/support/tgtd-lab.sh" start "$work/tgt" >"$work/lab.out" 2>&1 || {
	cat "$work/lab.out"; exit 1; }
. "$work/tgt/tgtd.env"
for tid in $(tgtadm -C "$TGTD_CONTROL_PORT" --lld iscsi --op show --mode target | sed -n 's/^Target \([0-9]*\):.*/\1/p'); do
	for kv in MaxRecvDataSegmentLength=262144 MaxXmitDataSegmentLength=262144 \
		  FirstBurstLength=262144 MaxBurstLength=1048576; do
		tgtadm -C "$TGTD_CONTROL_PORT" --lld iscsi --op update --mode target --tid "$tid" \
			--name "${kv%%=*}" --value "${kv#*=}" >/dev/null 2>&1
	done
done

say "starting xensimd, scsiback, domains"
"$xensim" start >/dev/null || exit 1
mkdir -p "$work/sbstate"
"$xensim" exec 0 -- "$build/scsiback/scsiback" --state-dir "$work/sbstate" --log-level warn \
	>"$work/scsiback.log" 2>&1 &
sbpid=$!
sleep 0.5
"$xensim" create-domain --name bench-disk >/dev/null
"$xensim" create-domain --name bench-ring --memory 1024 >/dev/null
vscsictl() { "$xensim" exec 0 -- "$build/tools/vscsictl/vscsictl" "$@"; }
vscsictl attach bench-disk "$DISK_URL" 0:0:0:0 >/dev/null || { say "attach of the tgtd disk failed"; exit 1; }
for h in $(seq 0 63); do
	vscsictl attach bench-ring null:disk "$h:0:0:0" >/dev/null || { say "attach of null LUN $h failed"; exit 1; }
done

point() { # label engine-args...
	local label=$1; shift
	for r in $(seq 1 "$runs"); do
		local line
		line=$("$@" --time "$secs" --backend-pid "$sbpid" 2>>"$work/gen.err") || {
			say "$label run $r failed: $(tail -1 "$work/gen.err")"; continue; }
		echo "{\"point\": \"$label\", \"run\": $r, \"result\": $line}" >>"$raw"
	done
	say "$label done"
}
direct() { "$gen" --url "$DISK_URL" "$@"; }
stack() { "$xensim" exec bench-disk -- "$gen" --vhosts 1 --lun 0:0:0 "$@"; }
ring() { local n=$1; shift; "$xensim" exec bench-ring -- "$gen" --vhosts "$n" --lun 0:0:0 "$@"; }

for w in "randread 4096 1" "randread 4096 16" "randwrite 4096 1" "randwrite 4096 16" \
	 "read 1048576 8" "write 1048576 8"; do
	set -- $w
	point "direct $1 $2 qd$3" direct --rw "$1" --bs "$2" --qd "$3"
	point "stack $1 $2 qd$3" stack --rw "$1" --bs "$2" --qd "$3"
done
point "ring tur 0 qd16" ring 1 --rw tur --qd 16
point "ring randread 4096 qd16" ring 1 --rw randread --bs 4096 --qd 16
for n in 1 4 16 64; do
	point "vhosts $n randread 4096 qd4" ring "$n" --rw randread --bs 4096 --qd 4
done
# Idle: 64 vhosts connected, no I/O; and the RSS each vhost costs.
line=$("$xensim" exec bench-ring -- "$gen" --vhosts 64 --lun 0:0:0 --idle 5 --backend-pid "$sbpid")
echo "{\"point\": \"idle 64 vhosts\", \"run\": 1, \"result\": $line}" >>"$raw"

python3 "$src/tools/bench/report.py" "$raw" "$out/results.json"
