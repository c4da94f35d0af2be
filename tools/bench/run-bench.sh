#!/usr/bin/env bash
# make bench: the same workloads straight to tgtd over iSCSI ("direct") and
# through libvscsifront -> ring -> scsiback -> libiscsi -> tgtd ("stack"),
# plus the ring alone (null LUNs) and 1/4/16/64 vhosts in one daemon, and
# what the privilege separation costs (a worker per guest against one
# process for all: CPU per command, memory per guest).
# The backend's CPU and memory are scsiback's and its workers' together
# (vscsi_bench.c backend_cpu_s; memory as PSS).
# A direct and a stack run of a workload alternate (ABAB...), BENCH_RUNS
# pairs (default 3), so that drift on a shared machine hits both; each
# run records how busy the machine was with anything else (other_cpu_pct).
# 4 KiB random reads sweep the queue depth (1..16 on one vhost, 32 on two).
# report.py prints min/median/max per point, each pair's stack/direct
# ratio with its spread, the targets, and draws build/bench/bench.png.
#   run-bench.sh BUILD_DIR
# Environment: BENCH_RUNS, BENCH_TIME (s per run, default 5).
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
# sb_start [OPTION...]: scsiback (again, after a stop: the vhosts stay).
sb_start() {
	"$xensim" exec 0 -- "$build/scsiback/scsiback" --state-dir "$work/sbstate" --log-level warn \
		"$@" >>"$work/scsiback.log" 2>&1 &
	sbpid=$!
	sleep 1
}
sb_stop() { kill "$sbpid" 2>/dev/null; wait "$sbpid" 2>/dev/null; sbpid=; }
sb_start
"$xensim" create-domain --name bench-disk >/dev/null
"$xensim" create-domain --name bench-ring --memory 1024 >/dev/null
vscsictl() { "$xensim" exec 0 -- "$build/tools/vscsictl/vscsictl" "$@"; }
# 'shared': the same disk goes on a second vhost below (one device, one
# guest, unless every entry says otherwise).
vscsictl attach bench-disk "$DISK_URL" 0:0:0:0 shared >/dev/null || { say "attach of the tgtd disk failed"; exit 1; }
for h in $(seq 0 63); do
	vscsictl attach bench-ring null:disk "$h:0:0:0" >/dev/null || { say "attach of null LUN $h failed"; exit 1; }
done

watch="--watch-pid $TGTD_PID --watch-pid $(cat "$XENSIM_RUNDIR/xensimd.pid")"
# run LABEL R ENGINE-ARGS...: one measured run, appended to raw.jsonl.
run() {
	local label=$1 r=$2 line
	shift 2
	# shellcheck disable=SC2086
	line=$("$@" --time "$secs" --backend-pid "$sbpid" $watch 2>>"$work/gen.err") || {
		say "$label run $r failed: $(tail -1 "$work/gen.err")"; return; }
	echo "{\"point\": \"$label\", \"run\": $r, \"result\": $line}" >>"$raw"
}
point() { # label engine-args...
	local label=$1 r
	shift
	for r in $(seq 1 "$runs"); do run "$label" "$r" "$@"; done
	say "$label done"
}
# pair RW BS QD [VHOSTS [gc] [poll]]: direct and stack runs in turn; the
# stack spreads QD over VHOSTS vhosts (default 1), the direct client uses
# one session. The stack runs with persistent grants and zero-copy
# buffers, its client spinning 20 us after progress as the direct client
# (which blocks in poll(2)) nearly does not; with gc also without
# persistent grants ("stack-gc": scsiback copies every command's data,
# which is what a Linux guest gets); with poll also with a client that
# polls the ring through the device's latency ("stack-poll", 100 us:
# tgtd answers in ~80, and a client asleep pays a wake-up, ~20 us on
# these VMs, for each answer).
pair() {
	local w="$1 $2 qd$3" nv=${4:-1} r x
	for r in $(seq 1 "$runs"); do
		run "direct $w" "$r" direct --rw "$1" --bs "$2" --qd "$3"
		run "stack $w" "$r" stack --vhosts "$nv" --rw "$1" --bs "$2" --qd $(($3 / nv))
		for x in "${@:5}"; do
			case $x in
			gc) run "stack-gc $w" "$r" stack --no-persistent --vhosts "$nv" \
				--rw "$1" --bs "$2" --qd $(($3 / nv)) ;;
			poll) run "stack-poll $w" "$r" stack --poll-us 100 --vhosts "$nv" \
				--rw "$1" --bs "$2" --qd $(($3 / nv)) ;;
			esac
		done
	done
	say "$w done"
}
direct() { "$gen" --url "$DISK_URL" "$@"; }
stack() { "$xensim" exec bench-disk -- "$gen" --lun 0:0:0 "$@"; }
ring() { local n=$1; shift; "$xensim" exec bench-ring -- "$gen" --vhosts "$n" --lun 0:0:0 "$@"; }

# The disk on a second vhost of the same guest, for queue depths beyond
# one ring's 16 slots (two sessions to one LUN: 'shared').
vscsictl attach bench-disk "$DISK_URL" 1:0:0:0 shared >/dev/null || { say "second attach of the tgtd disk failed"; exit 1; }
for qd in 1 2 4 8 16; do
	case $qd in 1) pair randread 4096 1 1 gc poll ;; 16) pair randread 4096 16 1 gc ;; *) pair randread 4096 "$qd" ;; esac
done
pair randread 4096 32 2
for w in "randwrite 4096 1" "randwrite 4096 16" "read 1048576 8 1 gc" "write 1048576 8 1 gc"; do
	# shellcheck disable=SC2086
	pair $w
done
point "ring tur 0 qd16" ring 1 --rw tur --qd 16
point "ring randread 4096 qd16" ring 1 --rw randread --bs 4096 --qd 16
for n in 1 4 16 64; do
	point "vhosts $n randread 4096 qd4" ring "$n" --rw randread --bs 4096 --qd 4
done
# The privilege separation's cost: the same workload through a daemon
# with a worker per guest (--privsep, the default) and through one
# process for all (--no-privsep), in turn; then the memory 8 more guests add to each
# (a worker each, or a vhost each in the one process).
tree_pids() { local c; echo "$1"; for c in $(ps -o pid= --ppid "$1"); do tree_pids "$c"; done; }
tree_pss() {
	local p v s=0
	for p in $(tree_pids "$1"); do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		s=$((s + ${v:-0}))
	done
	echo "$s"
}
for r in $(seq 1 "$runs"); do
	for mode in privsep single; do
		sb_stop
		if [ $mode = single ]; then sb_start --no-privsep; else sb_start --privsep; fi
		run "$mode randread 4096 qd16" "$r" stack --vhosts 1 --rw randread --bs 4096 --qd 16
		run "$mode ring tur 0 qd16" "$r" ring 1 --rw tur --qd 16
	done
done
for mode in privsep single; do
	sb_stop
	if [ $mode = single ]; then sb_start --no-privsep; else sb_start --privsep; fi
	sleep 2
	before=$(tree_pss "$sbpid")
	for g in $(seq 1 8); do
		"$xensim" create-domain --name "bench-g$g" >/dev/null
		vscsictl attach "bench-g$g" null:disk 0:0:0:0 >/dev/null || say "attach to bench-g$g failed"
	done
	sleep 3
	after=$(tree_pss "$sbpid")
	echo "{\"point\": \"$mode 8 guests\", \"run\": 1, \"result\": {\"backend_pss_kb\": $after, \"backend_pss_kb_per_guest\": $(( (after - before) / 8 )), \"workers\": $(pgrep -c -x scsiback-worker)}}" >>"$raw"
	for g in $(seq 1 8); do "$xensim" destroy-domain "bench-g$g" >/dev/null; done
	sleep 2
done
sb_stop
sb_start
say "privsep cost done"

# Idle: 64 vhosts connected, no I/O; and the RSS each vhost costs.
line=$("$xensim" exec bench-ring -- "$gen" --vhosts 64 --lun 0:0:0 --idle 5 --backend-pid "$sbpid")
echo "{\"point\": \"idle 64 vhosts\", \"run\": 1, \"result\": $line}" >>"$raw"

python3 "$src/tools/bench/report.py" "$raw" "$out/results.json" "$out/bench.png"
