# Guest-side helpers (busybox sh), sourced by /init before the scenario.
# Output conventions (read by dom0 from the console log):
#   XTG-CHECK NAME ok|FAIL DETAIL    a verdict
#   XTG-MD5 LABEL MD5                a checksum dom0 compares with its own
#   XTG-VALUE LABEL VALUE            a value dom0 compares
#   XTG-STAGE NAME                   progress dom0 may wait for
#   XTG-RERUN NAME pid=P signal=S    a check's process died of a signal; ran again
# Verdicts never depend on a shell pipeline (see the lab README: TCG once
# killed pipeline members at random; commands that decide run alone).

uptime_s() { cut -d' ' -f1 /proc/uptime; }
ok() { echo "XTG-CHECK $1 ok ${2:-}"; }
bad() { echo "XTG-CHECK $1 FAIL ${2:-}"; }
stage() { echo "XTG-STAGE $1 uptime=$(uptime_s)"; }

# run_step NAME CMD...: runs CMD, output in /tmp/ck.out, status in $_rc.
# A process killed by a signal nobody sent (SIGILL..SIGFPE, SIGSEGV) runs
# once more: TCG x Xen PV kills a process now and then, ours too (lab
# README; 1-9 such deaths per check-xen run). The first death is reported
# as "XTG-RERUN NAME pid=PID signal=S" with its output, and dom0 lists it
# with the TCG flakes; a second death is the verdict, and a crash of ours.
run_step() {
	_n=$1
	shift
	"$@" >/tmp/ck.out 2>&1 &
	_pid=$!
	wait $_pid
	_rc=$?
	case $_rc in 132|133|134|135|136|139)
		sed -n '1,60s/^/  | /p' /tmp/ck.out
		echo "XTG-RERUN $_n pid=$_pid signal=$((_rc - 128)): $*"
		"$@" >/tmp/ck.out 2>&1
		_rc=$? ;;
	esac
}

# What a failed command said last, for its check's line: the console
# keeps that line when dom0 writes no logs (a stalled dom0), and CI shows
# only the end of check-xen's output.
said() {
	grep -v '^ *$' /tmp/ck.out | tail -2 | tr '\n' ' ' | cut -c1-200 | sed 's/^/ -- said: /; s/ *$//'
}

# ck NAME CMD...: runs CMD, shows its output, records the verdict.
ck() {
	_n=$1
	shift
	echo "XTG-RUN $_n: $*"
	run_step "$_n" "$@"
	sed -n '1,60s/^/  | /p' /tmp/ck.out
	if [ $_rc -eq 0 ]; then ok "$_n"; else bad "$_n" "rc=$_rc: $*$(said)"; fi
	return $_rc
}

# ckout NAME REGEX CMD...: CMD must succeed and print a line matching REGEX.
ckout() {
	_n=$1 _re=$2
	shift 2
	echo "XTG-RUN $_n: $*"
	run_step "$_n" "$@"
	sed -n '1,60s/^/  | /p' /tmp/ck.out
	if [ $_rc -ne 0 ]; then bad "$_n" "rc=$_rc: $*$(said)"; return 1; fi
	if grep -qE "$_re" /tmp/ck.out; then ok "$_n"; return 0; fi
	bad "$_n" "no line matching '$_re' in the output of: $*"
	return 1
}

# ck_rc NAME WANT CMD...: CMD must exit with WANT (an sg3_utils category:
# 24 RESERVATION CONFLICT, 6 UNIT ATTENTION...).
ck_rc() {
	_n=$1 _want=$2
	shift 2
	echo "XTG-RUN $_n: $*"
	run_step "$_n" "$@"
	sed -n '1,30s/^/  | /p' /tmp/ck.out
	if [ "$_rc" = "$_want" ]; then ok "$_n" "exit $_rc"; else bad "$_n" "exit $_rc, not $_want: $*"; fi
}

md5() { set -- $(md5sum "$1"); echo "$1"; }
report_md5() { echo "XTG-MD5 $1 $(md5 "$2")"; }

# The scsi_device directory of (channel 0, target T, lun 0) on any host.
sdev_of() {
	for _d in /sys/class/scsi_device/*:0:$1:0; do [ -d "$_d" ] && { echo "$_d"; return 0; }; done
	return 1
}
sg_of() { _d=$(sdev_of "$1") || return 1; echo "/dev/$(ls "$_d/device/scsi_generic")"; }
blk_of() { _d=$(sdev_of "$1") || return 1; echo "/dev/$(ls "$_d/device/block" 2>/dev/null)"; }
nsg() { ls /sys/class/scsi_generic 2>/dev/null | wc -l; }

# wait_for SECONDS CMD...: polls CMD every half second.
wait_for() {
	_end=$(( $1 * 2 ))
	shift
	_i=0
	while [ $_i -lt $_end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; _i=$((_i + 1)); done
	return 1
}
have_ndev() { [ "$(nsg)" -ge "$1" ]; }
has_block() { [ -n "$(ls "$(sdev_of "$1")/device/block" 2>/dev/null)" ]; }

# Waits for the XT_NDEV devices the guest was given at boot, and lists them.
wait_devices() {
	if wait_for 90 have_ndev "$XT_NDEV"; then ok devices-appeared "$(nsg)/$XT_NDEV after $(uptime_s) s"
	else bad devices-appeared "$(nsg)/$XT_NDEV sg devices"; fi
	for _d in /sys/class/scsi_device/*; do
		[ -d "$_d" ] || continue
		[ "$(cat "$_d/device/type")" = 0 ] || continue
		wait_for 20 has_block "$(basename "$_d" | cut -d: -f3)"
	done
	for _d in /sys/class/scsi_device/*; do
		[ -d "$_d" ] || continue
		echo "  device $(basename "$_d") type=$(cat "$_d/device/type") $(cat "$_d/device/vendor" "$_d/device/model" | tr '\n' ' ') sg=$(ls "$_d/device/scsi_generic" 2>/dev/null) block=$(ls "$_d/device/block" 2>/dev/null)"
	done
}

# The iscsi-test-cu suites of scenarios 3 and 4, comma-separated.
cu_tests() { _t=$(grep -v '^#' /xt/cu-suites | grep . | tr '\n' ','); echo "${_t%,}"; }

# A file of N MiB of random data.
random_file() { dd if=/dev/urandom of="$1" bs=1M count="$2" 2>/dev/null; }
