#!/usr/bin/env bash
# make check-xen: the PV SCSI stack under real Xen 4.17, booted under QEMU
# (TCG, no KVM, no network). Phases, each timed:
#   packages  host packages (qemu-system-x86, debootstrap, ...)
#   build     make all, and make deb: the packages dom0 installs with dpkg
#   rootfs    the dom0 root filesystem, built once and cached in
#             $VSCSI_XEN_CACHE (default /var/cache/vscsi-xen), keyed by a
#             hash of its inputs
#   payload   a per-run disk: the staged project, the dom0 scripts and the
#             domU initramfs
#   boot+run  QEMU: Xen + Debian dom0 run the scenarios (dom0/main.sh) and
#             power off; a hard timeout kills QEMU by PID
#   report    one line per scenario, then "N passed, N failed"
#
# Environment: XT_SCENARIOS ("s1 s4 s3 s5 s6 s7 s2" by default), XT_TIMEOUT (QEMU's
# hard limit in seconds, default 1700), VSCSI_XEN_CACHE, XT_KEEP=1 (keep the
# run directory's large files), XT_SCSIBACK_LEVEL (scsiback --log-level),
# XT_CPU (QEMU -cpu), XT_VERBOSE=1 (show every check while it runs),
# XT_KILL_TGTD=SCEN (the harness's own test: tgtd is killed 20 s into the
# first attempt of scenario SCEN, which must then recover and pass),
# XT_STALL (seconds of a silent console after which dom0 counts as stopped,
# default 300), XT_FREEZE_DOM0=SCEN (the harness's own test: on the first
# boot dom0 stops itself at the start of SCEN; the second boot must run
# SCEN and what follows it), XT_STICK_DOM0=SCEN (the same with dom0's
# heartbeat alive: it must report XT-STUCK).
# A dom0 that stops (a silent console) or dies without finishing gets one
# more boot for the scenarios it did not report; their result lines say so.
# Logs: build/check-xen/ (serial.log, dom0 logs and guest consoles in logs/).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"

BUILD_DIR=${BUILD:-build}
OUT=$TOP/$BUILD_DIR/check-xen
CACHE=${VSCSI_XEN_CACHE:-/var/cache/vscsi-xen}
QEMU_TIMEOUT=${XT_TIMEOUT:-1700}
SCENARIOS=${XT_SCENARIOS:-s1 s4 s3 s5 s6 s7 s2}
declare -A NAMES=(
	[s1]="1 kernel xen-scsifront -> scsiback"
	[s2]="2 libvscsifront -> kernel xen-scsiback"
	[s3]="3 libvscsifront -> scsiback"
	[s4]="4 iscsi-test-cu transparency"
	[s5]="5 guest destroy, scsiback kill/restart"
	[s6]="6 xl lifecycle with vscsi-lifecycle"
	[s7]="7 a guest cluster's shared LUN"
)

[ "$(id -u)" -eq 0 ] || { echo "check-xen: needs root (apt, debootstrap, QEMU images)"; echo "0 passed, 1 failed"; exit 1; }

QEMU_PID=
stop_qemu() {
	[ -n "$QEMU_PID" ] || return 0
	if kill -0 "$QEMU_PID" 2>/dev/null; then
		xt_log "stopping QEMU (pid $QEMU_PID)"
		kill -TERM "$QEMU_PID" 2>/dev/null
		for _ in $(seq 20); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.5; done
		kill -KILL "$QEMU_PID" 2>/dev/null
	fi
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=
}
trap 'stop_qemu' EXIT
trap 'stop_qemu; exit 130' INT TERM

TIMES=()
phase_start() { PHASE=$1; PHASE_T0=$EPOCHREALTIME; xt_log "phase $1"; }
phase_end() { local s; s=$(xt_since "$PHASE_T0"); TIMES+=("$PHASE ${s}s"); xt_log "phase $PHASE: ${s} s"; }
abort() { # the harness itself failed before any scenario ran
	xt_log "error: $*"
	xt_log "phases: ${TIMES[*]}"
	echo "0 passed, 1 failed"
	exit 1
}

mkdir -p "$OUT"
rm -rf "$OUT"/logs "$OUT"/logs-[0-9] "$OUT/stage" "$OUT/deb" "$OUT/payload" "$OUT/domu" "$OUT"/*.img "$OUT"/*.ext4 "$OUT"/serial*.log "$OUT/results" "$OUT/qemu.log"

# ---------------------------------------------------------------- packages
phase_start packages
xt_host_packages qemu-system-x86 debootstrap busybox-static cpio e2fsprogs binutils kmod ||
	abort "host package installation failed"
bash "$TOP/tools/deps.sh" || abort "tools/deps.sh failed"
phase_end

# ---------------------------------------------------------------- build
phase_start build
make -C "$TOP" --no-print-directory -j2 SAN=0 all >"$OUT/build.log" 2>&1 ||
	{ tail -20 "$OUT/build.log"; abort "make all failed (see $OUT/build.log)"; }
# What a user installs: the Debian packages (make deb). dom0 installs them
# with dpkg; the guests' initramfs gets the guest packages' files.
bash "$TOP/tools/make-deb.sh" "$OUT/deb" >>"$OUT/build.log" 2>&1 ||
	{ tail -20 "$OUT/build.log"; abort "make deb failed (see $OUT/build.log)"; }
DEBS=()
for p in scsiback vscsictl libvscsifront0 vscsifront-utils; do
	d=$(ls "$OUT"/deb/"${p}"_*.deb 2>/dev/null | head -1)
	[ -n "$d" ] || abort "make deb built no $p package"
	DEBS+=("$d")
	dpkg-deb -x "$d" "$OUT/stage"
done
for f in usr/sbin/scsiback usr/sbin/vscsictl usr/bin/vscsi usr/lib/vscsi/ld_vscsi.so; do
	[ -e "$OUT/stage/$f" ] || abort "the packages hold no /$f"
done
# The Debian packages our binaries need at run time (for the dom0 rootfs).
for f in "$OUT"/stage/usr/bin/* "$OUT"/stage/usr/sbin/* "$OUT"/stage/usr/lib/vscsi/*.so "$OUT"/stage/usr/lib/*/*.so*; do
	[ -f "$f" ] && readelf -h "$f" >/dev/null 2>&1 && ldd "$f" 2>/dev/null
done | awk '/=> \// { print $3 }' | sort -u | while read -r lib; do
	b=${lib##*/}
	{ dpkg -S "/lib/x86_64-linux-gnu/$b" 2>/dev/null || dpkg -S "/usr/lib/x86_64-linux-gnu/$b" 2>/dev/null; } |
		head -1 | cut -d: -f1
done | sort -u >"$OUT/runtime-packages"
[ -s "$OUT/runtime-packages" ] || abort "could not work out the runtime packages"
phase_end

# ---------------------------------------------------------------- rootfs
phase_start rootfs
ROOTFS=$(bash "$HERE/build-rootfs.sh" "$CACHE" "$OUT/runtime-packages") || abort "dom0 rootfs build failed"
xt_log "rootfs: $ROOTFS"
phase_end

# ---------------------------------------------------------------- payload
phase_start payload
bash "$HERE/build-payload.sh" "$ROOTFS" "$OUT/stage" "$OUT" "${DEBS[@]}" || abort "payload build failed"
phase_end

# ---------------------------------------------------------------- boot+run
# -cpu: no SMAP (Xen's PV dom0 dies at its first instruction under TCG with
# it) and no SVM (with SVM, Xen loads PV segment bases with VMLOAD, which
# TCG gets wrong: random userspace crashes in the guests).
XEN_CMDLINE="console=com1 com1=115200,8n1 dom0_mem=1536M,max:1536M dom0_max_vcpus=2 loglvl=info guest_loglvl=info noreboot=false"
# What of the serial console the harness shows while it runs (XT_VERBOSE=1:
# every check, the guests' too).
PROGRESS='^(XT: |XT-RESULT: |XT-CHECK: .* FAIL |XT-FATAL|XTG\[.*\]: XTG-CHECK [^ ]+ FAIL)'
[ "${XT_VERBOSE:-0}" = 1 ] && PROGRESS='^(XT|XTG\[)'
# dom0 writes to its console at least every minute (main.sh's heartbeat):
# this long without a byte, it has stopped (seen in CI under TCG: a whole
# dom0 silent from one scenario on).
STALL=${XT_STALL:-300}

# boot SCENARIOS SERIAL RESULTS_IMG: one boot of Xen + dom0 running the
# given scenarios. Sets BOOT_END: done (dom0 said XT-DONE), timeout (QEMU's
# limit), stalled (the console silent for $STALL s, or dom0's heartbeat
# saw a scenario stuck past its limit: XT-STUCK) or died (QEMU ended
# without XT-DONE: a panic, a reset).
boot() {
	local scens=$1 serial=$2 img=$3 cmdline deadline shown=0 n size last_size=-1 last_change
	cmdline="root=/dev/vda rw init=/sbin/xt-init console=hvc0 earlyprintk=xen panic=10 loglevel=5"
	# dom0 must have written its results well before QEMU's hard limit.
	cmdline+=" xt_budget=$((QEMU_TIMEOUT - 120))"
	# ("+" joins the scenarios: a comma would end QEMU's multiboot module.)
	cmdline+=" xt_scenarios=${scens// /+}"
	[ -n "${XT_SCSIBACK_LEVEL:-}" ] && cmdline+=" xt_scsiback_level=$XT_SCSIBACK_LEVEL"
	[ -n "${XT_KILL_TGTD:-}" ] && cmdline+=" xt_kill_tgtd=$XT_KILL_TGTD"
	[ -n "${XT_FREEZE_DOM0:-}" ] && [ "$serial" = "$OUT/serial.log" ] && cmdline+=" xt_freeze=$XT_FREEZE_DOM0"
	[ -n "${XT_STICK_DOM0:-}" ] && [ "$serial" = "$OUT/serial.log" ] && cmdline+=" xt_stick=$XT_STICK_DOM0"
	rm -f "$serial"
	truncate -s 0 "$img" && truncate -s 256M "$img"
	export TMPDIR=$OUT   # QEMU's snapshot overlay of the cached rootfs
	qemu-system-x86_64 -accel tcg,thread="${XT_TCG_THREAD:-multi}" -cpu "${XT_CPU:-max,-smap,-smep,-svm}" -smp 2 -m "${XT_MEM:-4G}" \
		-display none -vga none -nic none -no-reboot -monitor none -serial "file:$serial" \
		-kernel "$ROOTFS/xen.elf" -append "$XEN_CMDLINE" \
		-initrd "$ROOTFS/vmlinuz $cmdline,$ROOTFS/initrd.img" \
		-drive "file=$ROOTFS/rootfs.ext4,if=virtio,format=raw,snapshot=on,cache=unsafe" \
		-drive "file=$OUT/payload.ext4,if=virtio,format=raw,cache=unsafe" \
		-drive "file=$img,if=virtio,format=raw,cache=unsafe" \
		</dev/null >>"$OUT/qemu.log" 2>&1 &
	QEMU_PID=$!
	xt_log "QEMU pid $QEMU_PID (scenarios $scens), serial log $serial, limit $QEMU_TIMEOUT s"
	deadline=$(( $(date +%s) + QEMU_TIMEOUT ))
	last_change=$(date +%s)
	BOOT_END=died
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$deadline" ]; then BOOT_END=timeout; xt_log "QEMU exceeded $QEMU_TIMEOUT s"; stop_qemu; break; fi
		size=$(stat -c %s "$serial" 2>/dev/null || echo 0)
		if [ "$size" != "$last_size" ]; then last_size=$size; last_change=$(date +%s)
		elif [ $(( $(date +%s) - last_change )) -ge "$STALL" ]; then
			BOOT_END=stalled; xt_log "dom0 silent on the console for $STALL s: stalled"; stop_qemu; break
		fi
		if grep -aq '^XT-STUCK' "$serial" 2>/dev/null; then
			# the process list that follows, then the end
			for _ in $(seq 15); do grep -aq '^XT-STUCK-END' "$serial" && break; sleep 2; done
			BOOT_END=stalled; xt_log "dom0 stuck past a scenario's limit (XT-STUCK): stalled"
			tr -d '\r' <"$serial" | grep -a '^XT-STUCK:' | sed 's/^/  /'
			stop_qemu; break
		fi
		n=0
		[ -f "$serial" ] && n=$(wc -l <"$serial")
		if [ "$n" -gt "$shown" ]; then
			sed -n "$((shown + 1)),${n}p" "$serial" | tr -d '\r' | grep -aE "$PROGRESS" | sed 's/^/  /'
			shown=$n
		fi
		sleep 2
	done
	n=$(wc -l <"$serial")
	sed -n "$((shown + 1)),${n}p" "$serial" | tr -d '\r' | grep -aE "$PROGRESS" | sed 's/^/  /'
	[ -n "$QEMU_PID" ] && { wait "$QEMU_PID"; xt_log "QEMU exited with status $?"; QEMU_PID=; }
	if grep -q 'XT-DONE' "$serial"; then BOOT_END=done
	else
		# CI keeps the end of this output: the console's last words.
		xt_log "dom0 did not finish ($BOOT_END, no XT-DONE); the console's last lines:"
		tr -d '\r' <"$serial" | grep -av '^ *$' | tail -25 | cut -c1-160 | sed 's/^/    /'
	fi
}

# A dom0 that stopped (silent, or gone without XT-DONE) is the lab's
# failure, not a scenario's verdict: the scenarios it did not report run
# again on a fresh boot, up to XT_BOOTS boots in all, and the report says
# so. A QEMU time limit is not retried: the scenarios were slow, and would
# be again. dom0's init (main.sh's bash) can also die of a TCG fault
# between scenarios; its EXIT trap still says XT-DONE with scenarios never
# run (a replica: bash[1] general protection fault in libc right after
# s5): retried too. A CI run saw dom0's kernel die on two boots in a row.
# The boots after the first share what is left of XT_RETRY_BUDGET seconds
# (counted from the first boot's start) so that CI's time limit holds.
BOOTS=${XT_BOOTS:-3}
RETRY_BUDGET=${XT_RETRY_BUDGET:-2400}
BOOTS_T0=$(date +%s)
RESULTS=$OUT/results
: >"$RESULTS"
LOGDIRS=()
LEFT=$SCENARIOS
WHY=          # why this boot: "boot 2: dom0 died during s1 on boot 1"
ENDS=()
# boot_results SERIAL IMG DIR: a boot's results archive unpacked into DIR,
# its result lines printed (from the archive, or from the console when
# dom0 never wrote it).
boot_results() {
	mkdir -p "$3"
	tar -C "$3" -xf "$2" 2>/dev/null || xt_log "no results archive on the results disk of ${1##*/}"
	if [ -f "$3/results" ]; then cat "$3/results"
	else tr -d '\r' <"$1" | sed -n 's/^XT-RESULT: //p'; fi
}
# Scenarios of LEFT with no XT-RESULT line in a serial log.
unreported() {
	local s out=
	for s in $LEFT; do
		tr -d '\r' <"$1" | grep -q "^XT-RESULT: $s " || out+="$s "
	done
	echo "${out% }"
}
for k in $(seq 1 "$BOOTS"); do
	sfx=; [ "$k" -gt 1 ] && sfx=-$k
	phase_start "boot+run$sfx"
	[ -n "$WHY" ] && xt_log "$WHY: running $LEFT"
	boot "$LEFT" "$OUT/serial$sfx.log" "$OUT/results$sfx.img"
	phase_end
	END=$BOOT_END
	if [ "$END" = done ] && [ -n "$(unreported "$OUT/serial$sfx.log")" ]; then
		END=ended-early
		xt_log "dom0 said XT-DONE without a result for $(unreported "$OUT/serial$sfx.log"): ended early"
	fi
	ENDS+=("$END")
	boot_results "$OUT/serial$sfx.log" "$OUT/results$sfx.img" "$OUT/logs$sfx" |
		sed "s/\$/${WHY:+ ($WHY)}/" >>"$RESULTS"
	LOGDIRS+=("$OUT/logs$sfx")
	case $END in stalled|died|ended-early) ;; *) break ;; esac
	IN=$(tr -d '\r' <"$OUT/serial$sfx.log" | sed -n 's/^XT: \[[0-9.]*\] setup: scenario \(s[0-9]\):.*/\1/p' | tail -1)
	LEFT=$(unreported "$OUT/serial$sfx.log")
	[ -n "$LEFT" ] || break
	WHY="boot $((k + 1)): dom0 $END during ${IN:-setup} on boot $k"
	left_s=$(( RETRY_BUDGET - ($(date +%s) - BOOTS_T0) ))
	if [ "$left_s" -lt 600 ]; then
		xt_log "no time left for another boot ($left_s s of XT_RETRY_BUDGET=$RETRY_BUDGET)"
		break
	fi
	[ "$QEMU_TIMEOUT" -gt "$left_s" ] && QEMU_TIMEOUT=$left_s
done

# ---------------------------------------------------------------- report
for f in "$OUT"/serial*.log; do
	grep -q '(XEN) HVM: SVM enabled' "$f" && xt_log "warning: Xen saw SVM (expected -svm)"
done
passed=0 failed=0
echo "check-xen results:"
if grep -q '^setup FAIL' "$RESULTS"; then
	grep '^setup FAIL' "$RESULTS" | sed 's/^/  /'
fi
for s in $SCENARIOS; do
	line=$(grep "^$s " "$RESULTS" | tail -1)
	if [ -n "$line" ] && [ "$(echo "$line" | cut -d' ' -f2)" = PASS ]; then
		passed=$((passed + 1)); echo "PASS scenario ${NAMES[$s]:-$s}: ${line#* PASS }"
	else
		failed=$((failed + 1))
		if [ -n "$line" ]; then echo "FAIL scenario ${NAMES[$s]:-$s}: ${line#* FAIL }"
		else echo "FAIL scenario ${NAMES[$s]:-$s}: no result (dom0 on each boot: ${ENDS[*]}; see $OUT/serial*.log)"; fi
	fi
done
for k in "${!LOGDIRS[@]}"; do
	d=${LOGDIRS[$k]}
	if [ -d "$d/checks" ]; then
		grep -H '^FAIL' "$d"/checks/* 2>/dev/null | sed "s|^$d/checks/||; s/^/  failed check: /"
		continue
	fi
	# A dom0 that stalled or died wrote no archive: its console (logsSFX's
	# serialSFX.log) has them.
	tr -d '\r' <"$OUT/serial${d#"$OUT"/logs}.log" | sed -n "s/^XT-CHECK: \([^ ]*\) FAIL /  failed check (console of boot $((k + 1))): \1:FAIL /p"
done
# Where a failed scenario stood: CI keeps only the end of this output, so
# the last lines of its dom0 log and of its guests' consoles come here.
for s in $SCENARIOS; do
	grep "^$s " "$RESULTS" 2>/dev/null | tail -1 | grep -q "^$s PASS" && continue
	for d in "${LOGDIRS[@]}"; do
		for f in "$d/logs/$s.log" "$d"/logs/console/guest-xt-"$s"*.log; do
			[ -s "$f" ] || continue
			echo "  last lines of ${f#"$OUT"/}:"
			tr -d '\r' <"$f" | grep -av '^ *$' | tail -8 | cut -c1-160 | sed 's/^/    /'
		done
	done
done
for d in "${LOGDIRS[@]}"; do
	[ -s "$d/logs/crashes.log" ] || continue
	xt_log "processes that died of a fault under TCG (see the xen-tcg lab notes): $(wc -l <"$d/logs/crashes.log")"
	sed 's/^/  /' "$d/logs/crashes.log" | cut -c1-160
done
xt_log "phases: ${TIMES[*]}"
xt_log "logs: $OUT (serial.log and logs/ of the first boot; serial-K.log and logs-K/ of boot K)"
[ "${XT_KEEP:-0}" = 1 ] || rm -f "$OUT/payload.ext4" "$OUT"/results*.img
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
