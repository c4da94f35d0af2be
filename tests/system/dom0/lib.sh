# Helpers of the dom0 side of the real-Xen system test. Sourced by main.sh
# and by every scenario script (which run as separate bash processes).
#
# Conventions:
#   $W            work directory in dom0 (tmpfs): logs/, checks/, *.env
#   check lines   "ok NAME DETAIL" / "FAIL NAME DETAIL" appended to
#                 $W/checks/$XT_SCEN, and echoed to the console as XT-CHECK
#   guests        PV domUs named xt-*, console logs from xenconsoled in
#                 /var/log/xen/console/guest-NAME.log; a guest reports with
#                 lines "XTG-CHECK NAME ok|FAIL DETAIL", "XTG-MD5 LABEL MD5",
#                 "XTG-VALUE LABEL VALUE", "XTG-STAGE NAME" and ends with
#                 "XTG-END".

export PATH=/usr/lib/xen-4.17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
W=/tmp/xt
XT=/xt
CONSOLE_DIR=/var/log/xen/console
SCSIBACK_PID=/run/xt-scsiback.pid
SCSIBACK_LOG=$W/logs/scsiback.log

up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "XT: [$(up)] ${XT_SCEN:+$XT_SCEN: }$*" >/dev/console; echo "[$(up)] $*"; }

# check NAME ok|FAIL [DETAIL...]
record() {
	local name=$1 verdict=$2
	shift 2
	echo "$verdict $name $*" >>"$W/checks/${XT_SCEN:-setup}"
	echo "XT-CHECK: ${XT_SCEN:-setup} $verdict $name $*" >/dev/console
	echo "[$(up)] CHECK $verdict $name $*"
}
pass() { record "$1" ok "${@:2}"; }
fail() { record "$1" FAIL "${@:2}"; }

# expect NAME CMD...: runs CMD (output to the scenario log), records its verdict.
expect() {
	local name=$1 rc
	shift
	echo "[$(up)] \$ $*"
	"$@"
	rc=$?
	if [ $rc -eq 0 ]; then pass "$name"; else fail "$name" "rc=$rc: $*"; fi
	return $rc
}

# Runs a command with a time limit, output to the scenario log. A command
# that had to be killed is noted as hung: a process that TCG hands a garbage
# pointer could as well spin as die of it (main.sh counts these with the
# crashes; one of ours is a bug all the same). When reap_spinners killed
# timeout(1) itself (its line names this shell as the parent), the 137 is
# timeout's, already noted, and says nothing of the command (CI: a spinning
# timeout around `vscsictl detach` counted as a hang of vscsictl).
t() {
	local s=$1 rc before me=$BASHPID
	shift
	echo "[$(up)] \$ $*"
	before=$(log_lines "$W/logs/hangs")
	timeout -k 5 "$s" "$@"
	rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		tail -n +$((before + 1)) "$W/logs/hangs" 2>/dev/null |
			grep -q "^dom0: timeout\[hung\]: .*, parent $me)\$" || note_hang "$s" "$@"
	fi
	return $rc
}
note_hang() { local s=$1; shift; echo "dom0: ${1##*/}[hung]: killed after $s s: $*" >>"$W/logs/hangs"; }

# reap PID LINE: kills PID, LINE in the hangs log first, so that t() finds
# it as soon as its timeout(1) is gone (stopped, the process cannot end
# by itself between the line and the kill).
reap() {
	kill -STOP "$1" 2>/dev/null || return 0
	echo "$2" >>"$W/logs/hangs"
	kill -KILL "$1" 2>/dev/null
}

# The short-lived tools the scenarios poll with. TCG has left one spinning
# in state R for minutes (seen in CI: cut on /proc/uptime, grep -q on a
# console log), which holds the poll around it until the scenario's limit.
SPIN_TOOLS='^(cut|grep|sed|awk|mawk|tail|head|cat|tr|wc|sort|timeout|sleep|date|basename|dirname|md5sum|ls|ps|stat|paste|seq|xenstore-[a-z]+)$'
# reap_spinners: kills such a tool once it has used a minute of CPU (none
# needs a second here), so the poll goes on; noted as hung, as t() does.
# Also a scenario's bash (or such a tool) asleep in a futex with one thread:
# a process with no other thread has no one to wake it, so that is a lock
# TCG corrupted (CI: s7.sh's command substitution child sat in
# futex_wait_queue for four minutes, its parent waiting on the pipe, until
# the scenario's limit). Killed once it is 30 s old, the substitution comes
# back empty and the poll around it goes on.
reap_spinners() {
	local pid ppid stat cpu age nlwp wchan comm t d h m s
	# ps itself under a time limit: the monitor loop must never hang.
	timeout -k 2 10 ps -eo pid=,ppid=,stat=,time=,etimes=,nlwp=,wchan:40=,comm= |
	while read -r pid ppid stat cpu age nlwp wchan comm; do
		case $stat in
		R*)
			[[ $comm =~ $SPIN_TOOLS ]] || continue
			t=${cpu#*-}; d=0
			[ "$t" != "$cpu" ] && d=${cpu%%-*}
			IFS=: read -r h m s <<<"$t"
			s=$((10#$d * 86400 + 10#$h * 3600 + 10#$m * 60 + 10#$s))
			[ "$s" -ge 60 ] || continue
			reap "$pid" "dom0: $comm[hung]: killed after $s s of CPU spinning (state R; TCG, parent $ppid)"
			;;
		S*)
			[[ $wchan == futex* ]] && [ "$nlwp" = 1 ] && [ "$age" -ge 30 ] || continue
			[[ $comm =~ $SPIN_TOOLS ]] || [ "$comm" = bash ] || continue
			reap "$pid" "dom0: $comm[hung]: killed, asleep in $wchan with a single thread, $age s old (TCG, parent $ppid)"
			;;
		esac
	done
}

md5_of() { # FILE OFFSET_MIB LENGTH_MIB
	dd if="$1" bs=1M skip="$2" count="$3" status=none | md5sum | cut -d' ' -f1
}

# The iscsi-test-cu suites of scenarios 3 and 4, comma-separated.
cu_tests() { grep -v '^#' "$XT/dom0/cu-suites" | grep . | paste -sd,; }

# ---------------------------------------------------------------- scsiback
scsiback_pid() {
	local p
	p=$(cat "$SCSIBACK_PID" 2>/dev/null) || return 1
	[ -n "$p" ] && [ -d "/proc/$p" ] && [ "$(cat /proc/$p/comm 2>/dev/null)" = scsiback ] || return 1
	echo "$p"
}

# What the shipped units keep (the *.service.in files); setpriv drops the
# rest from the bounding set, so root holds only these.
SCSIBACK_CAPS=+sys_admin,+sys_rawio,+setuid,+setgid,+sys_chroot,+kill
LIFECYCLE_CAPS=
# sandbox CAPS: the command prefix that runs a daemon so.
sandbox() {
	command -v setpriv >/dev/null || return 0
	echo "setpriv --no-new-privs --inh-caps=-all --bounding-set=-all${1:+,$1}"
}

# sandbox_report NAME PID: the fields of /proc/PID/status that show a
# daemon's sandbox, on one line. Builtins only: under TCG a grep of this
# pipeline once ended with "grep: program error" and no output, which
# failed s1's check of a worker that was fine (lab README: verdicts out
# of pipelines).
sandbox_report() {
	local f out=
	while read -r -a f; do
		case ${f[0]} in
		Uid:|CapPrm:|CapEff:|CapBnd:|NoNewPrivs:|Seccomp:) out+="${out:+ }${f[*]}" ;;
		esac
	done 2>/dev/null <"/proc/$2/status"
	echo "$out"
}

# worker_pid DOMID: the pid of scsiback's worker for that guest
# (docs/privsep.md: "scsiback --worker DOMID ...", named scsiback-worker).
worker_pid() {
	local p
	for p in $(pgrep -x scsiback-worker); do
		case "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in
		*" --worker $1 "*) echo "$p"; return 0 ;;
		esac
	done
	return 1
}

scsiback_start() {
	local i pid
	if scsiback_pid >/dev/null; then return 0; fi
	mkdir -p /run/scsiback
	echo "===== scsiback start at $(up)" >>"$SCSIBACK_LOG"
	# Its exit status goes to the log too: scsiback_stop and our_reports
	# read it (a glibc abort leaves no kernel line).
	# With the capabilities and no_new_privs its systemd unit leaves it
	# (scsiback/scsiback.service.in: CapabilityBoundingSet, NoNewPrivileges).
	( $(sandbox "$SCSIBACK_CAPS") scsiback -l "${XT_SCSIBACK_LEVEL:-info}" -p "$SCSIBACK_PID" </dev/null
	  echo "===== scsiback exited: status $? at $(up)" ) >>"$SCSIBACK_LOG" 2>&1 &
	for i in $(seq 50); do
		pid=$(scsiback_pid) && { say "scsiback running, pid $pid"; return 0; }
		sleep 0.2
	done
	say "scsiback did not start"; tail -20 "$SCSIBACK_LOG"
	return 1
}

# scsiback_stop [SIGNAL]: TERM (default) waits up to 40 s, then KILL.
# Returns 1 when it had to be killed, 2 when SIGTERM ended it with an exit
# status other than 0 (scsiback(8): 0 after SIGTERM); the status is left
# in SCSIBACK_EXIT.
scsiback_stop() {
	local sig=${1:-TERM} pid i n
	SCSIBACK_EXIT=
	pid=$(scsiback_pid) || return 0
	n=$(grep -c '^===== scsiback exited' "$SCSIBACK_LOG")
	kill -"$sig" "$pid"
	for i in $(seq 200); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
	if [ -d "/proc/$pid" ]; then
		say "scsiback $pid still alive after SIG$sig: SIGKILL"
		kill -KILL "$pid"; sleep 1
		return 1
	fi
	for i in $(seq 50); do
		[ "$(grep -c '^===== scsiback exited' "$SCSIBACK_LOG")" -gt "$n" ] && break
		sleep 0.2
	done
	SCSIBACK_EXIT=$(grep '^===== scsiback exited' "$SCSIBACK_LOG" | tail -1 | awk '{ print $5 }')
	[ "$sig" != TERM ] || [ "$SCSIBACK_EXIT" = 0 ] || return 2
	return 0
}

# ---------------------------------------------------------------- vscsi-lifecycle
LIFECYCLE_PID=/run/xt-vscsi-lifecycle.pid
LIFECYCLE_LOG=$W/logs/vscsi-lifecycle.log
lifecycle_pid() {
	local p
	p=$(cat "$LIFECYCLE_PID" 2>/dev/null) || return 1
	[ -n "$p" ] && [ -d "/proc/$p" ] && [ "$(cat /proc/$p/comm 2>/dev/null)" = vscsi-lifecycle ] || return 1
	echo "$p"
}

# lifecycle_start ARGS...: the service in the foreground of a background
# job (its log to $LIFECYCLE_LOG), pid in $LIFECYCLE_PID.
lifecycle_start() {
	local i pid
	if lifecycle_pid >/dev/null; then return 0; fi
	echo "===== vscsi-lifecycle start at $(up): $*" >>"$LIFECYCLE_LOG"
	( $(sandbox "$LIFECYCLE_CAPS") vscsi-lifecycle -p "$LIFECYCLE_PID" "$@" </dev/null
	  echo "===== vscsi-lifecycle exited: status $? at $(up)" ) >>"$LIFECYCLE_LOG" 2>&1 &
	for i in $(seq 50); do
		pid=$(lifecycle_pid) && { say "vscsi-lifecycle running, pid $pid"; return 0; }
		sleep 0.2
	done
	say "vscsi-lifecycle did not start"; tail -20 "$LIFECYCLE_LOG"
	return 1
}

# lifecycle_stop: SIGTERM, up to 20 s, then SIGKILL.
lifecycle_stop() {
	local pid i
	pid=$(lifecycle_pid) || return 0
	kill -TERM "$pid"
	for i in $(seq 100); do [ -d "/proc/$pid" ] || return 0; sleep 0.2; done
	say "vscsi-lifecycle $pid still alive after SIGTERM: SIGKILL"
	kill -KILL "$pid"
	return 1
}

# Grant mappings (gntdev) in the address spaces of scsiback and its
# guests' workers (which map the rings and data pages).
scsiback_gntmaps() {
	local pid p n=0 c
	pid=$(scsiback_pid) || { echo -1; return; }
	for p in $pid $(pgrep -x scsiback-worker); do
		c=$(grep -c /dev/xen/gntdev "/proc/$p/maps" 2>/dev/null)
		n=$((n + ${c:-0}))
	done
	echo "$n"
}

# ---------------------------------------------------------------- guests
guest_log() { echo "$CONSOLE_DIR/guest-$1.log"; }

# guest_create NAME NDEV SCENARIO [KERNEL_ARGS...]: creates a paused PV
# guest, prints its domid. NDEV: how many SCSI generic devices the guest
# waits for at boot.
guest_create() {
	local name=$1 ndev=$2 scen=$3 cfg=$W/$1.cfg
	shift 3
	cat >"$cfg" <<EOF
name = "$name"
type = "pv"
kernel = "$XT/domu/vmlinuz"
ramdisk = "$XT/domu/initrd.gz"
extra = "console=hvc0 loglevel=5 rdinit=/init xt=$scen xt_ndev=$ndev $*"
memory = ${XT_GUEST_MEM:-256}
vcpus = ${XT_GUEST_VCPUS:-1}
on_poweroff = "destroy"
on_crash = "destroy"
on_reboot = "destroy"
EOF
	rm -f "$(guest_log "$name")"
	t 120 xl create -p "$cfg" >&2 || return 1
	guest_follow "$name"
	xl domid "$name"
}

# guest_follow NAME [LOG...]: the guest's verdicts and progress on the
# serial console as they come (from its console log, or from the given
# logs: a migrated guest writes to the log of NAME--incoming).
guest_follow() {
	local name=$1
	shift
	[ $# -gt 0 ] || set -- "$(guest_log "$name")"
	(
		exec >/dev/console 2>&1
		tail -q -n +1 -F "$@" 2>/dev/null | while IFS= read -r l; do
			case $l in
			XTG-CHECK*|XTG-STAGE*|XTG-VALUE*) echo "XTG[$name]: ${l%$'\r'}" ;;
			*"segfault at"*|*"general protection fault"*|*"traps: "*) echo "XTG[$name]: XTG-CRASH ${l%$'\r'}" ;;
			esac
		done
	) &
	echo $! >"$W/$name.follower"
}

guest_unpause() { t 30 xl unpause "$1"; }
# (An xl that hangs says nothing: the guest counts as still there.) The
# time limit is kept by this shell, not by timeout(1): a CI run saw
# timeout itself spin for 6 minutes.
guest_alive() {
	local pid t0=$SECONDS
	xl domid "$1" >/dev/null 2>>"$W/logs/xl-domid.err" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ $((SECONDS - t0)) -ge 15 ]; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			note_hang 15 xl domid "$1"
			return 0
		fi
		nap 0.2
	done
	wait "$pid"
}

# Sleeps with a builtin (read with a time limit on a fifo nobody writes):
# a polling loop that starts no process cannot be stopped by one spinning.
nap() {
	if [ -z "${NAP_FD:-}" ]; then
		mkdir -p "$W"
		[ -p "$W/nap.fifo" ] || mkfifo "$W/nap.fifo"
		exec {NAP_FD}<>"$W/nap.fifo"
	fi
	read -rt "$1" -u "$NAP_FD" _
	local rc=$?
	# Anything but a time-out (a line in the fifo, a closed descriptor)
	# makes the nap no nap at all: a CI run's s7 polled 120 times in a
	# second. Then a fresh fifo, and this once a sleep(1).
	if [ $rc -le 128 ]; then
		echo "[$(up)] nap: read on the fifo ended with $rc, not a time-out; sleeping instead" >&2
		exec {NAP_FD}<&-
		NAP_FD=
		rm -f "$W/nap.fifo"
		sleep "$1"
	fi
	return 0
}

# guest_wait NAME REGEX SECONDS: waits for a console line (extended regex).
# Polls with as few processes as it can (every process started under TCG
# is a chance for the lab's random crashes), and believes a guest gone only
# when xl says so three times in a row.
guest_wait() {
	local name=$1 re=$2 limit=$3 f dead=0 start=$SECONDS
	f=$(guest_log "$name")
	while [ $((SECONDS - start)) -lt "$limit" ]; do
		grep -qaE "$re" "$f" 2>/dev/null && return 0
		if guest_alive "$name"; then dead=0; else dead=$((dead + 1)); fi
		if [ $dead -ge 3 ]; then
			# xenconsoled writes a dead guest's last lines when it gets to
			# them: a CI run's s7 guest printed XTG-END, halted, and the
			# line was in the log only after this loop had given up.
			for dead in 1 2 3 4 5 6 7 8 9 10; do
				grep -qaE "$re" "$f" 2>/dev/null && return 0
				nap 1
			done
			return 1
		fi
		nap 1
	done
	return 1
}

# guest_finish NAME SECONDS: waits for XTG-END (or the guest's end), then
# destroys it if needed and records the guest's own checks.
guest_finish() {
	local name=$1 f
	f=$(guest_log "$name")
	if ! guest_wait "$name" '^XTG-END' "$2"; then
		fail "$name-end" "no XTG-END within $2 s"
	fi
	guest_destroy "$name"
	guest_checks "$name"
}

# By domain id, and again while the domain is listed: an xl that a TCG
# flake kills half-way leaves a nameless "(null)" domain behind.
guest_destroy() {
	local name=$1 i try dom
	dom=$(xl domid "$name" 2>/dev/null) || { stop_follower "$name"; return 0; }
	for try in 1 2 3; do
		t 60 xl destroy "$dom"
		for i in $(seq 60); do xl list "$dom" >/dev/null 2>&1 || break; sleep 0.5; done
		xl list "$dom" >/dev/null 2>&1 || break
		say "domain $dom ($name) still there after xl destroy; again"
	done
	stop_follower "$name"
	! xl list "$dom" >/dev/null 2>&1
}

# Stops the console follower of a guest: the subshell and the tail and
# read loop it started (its children, by parent pid).
stop_follower() {
	local f=$W/$1.follower pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	sleep 1
	pkill -P "$pid" 2>/dev/null
	kill "$pid" 2>/dev/null
	rm -f "$f"
}

# Records the XTG-CHECK lines of a guest's console as checks, and flags
# guest processes killed by a signal (README: TCG flakes are counted).
guest_checks() {
	local name=$1 f n verdict detail
	f=$(guest_log "$name")
	[ -f "$f" ] || { fail "$name-console" "no console log"; return; }
	sed -n 's/\r$//; s/^XTG-CHECK //p' "$f" >"$W/$name.checks"
	while read -r n verdict detail; do
		if [ "$verdict" = ok ]; then pass "guest:$n" "$detail"; else fail "guest:$n" "$detail"; fi
	done <"$W/$name.checks"
	# A crash of our own code fails the scenario. Any other process killed
	# by a fault is a TCG flake (README): main.sh lists it in the report,
	# and reruns the scenario if a check failed.
	if guest_crashes "$f" | crash_is_ours; then
		fail "$name-no-crashes" "$(guest_crashes "$f" | crash_lines_ours | head -3 | tr '\n' '|')"
	fi
}

# guest_md5 NAME LABEL: the md5 the guest reported under LABEL.
guest_md5() { sed -n "s/\r\$//; s/^XTG-MD5 $2 \([0-9a-f]\{32\}\).*/\1/p" "$(guest_log "$1")" | tail -1; }
guest_value() { sed -n "s/\r\$//; s/^XTG-VALUE $2 //p" "$(guest_log "$1")" | tail -1; }

# md5_check NAME GUEST LABEL EXPECTED
md5_check() {
	local got
	got=$(guest_md5 "$2" "$3")
	if [ -n "$got" ] && [ "$got" = "$4" ]; then pass "$1" "$3 md5 $got"
	else fail "$1" "$3: guest md5 '${got:-none}', expected $4"; fi
}

destroy_all_guests() {
	local d try
	for try in 1 2 3; do
		for d in $(xl_list | awk 'NR > 1 && $2 != 0 { print $2 }'); do t 60 xl destroy "$d"; done
		[ -z "$(extra_domains)" ] && break
		sleep 2
	done
}

# Fault lines of dom0's kernel log ("bash[123]: segfault at ..."), and of
# guest consoles (the guest's kernel prints them there; lines a scenario
# echoed from dmesg itself are not counted twice).
FAULTS='segfault at|general protection fault|traps: '
dom0_crashes() { dmesg | grep -aE "$FAULTS"; }
# A check's process that died and ran again (the guest's XTG-RERUN) is
# listed by guest_reruns, its fault line not among the crashes: the check's
# verdict is its second run's (domu/lib.sh run_step).
guest_crashes() {
	local f pids
	for f in "$@"; do
		[ -f "$f" ] || continue
		pids=$(tr -d '\r' <"$f" | sed -n 's/^XTG-RERUN [^ ]* pid=\([0-9]*\) .*/\1/p' | tr '\n' '|')
		tr -d '\r' <"$f" | grep -aE "$FAULTS" | grep -av 'dmesg| ' |
			if [ -n "$pids" ]; then grep -avE "\[(${pids%|})\]:"; else cat; fi
	done
}
guest_reruns() {
	local f
	for f in "$@"; do
		[ -f "$f" ] && tr -d '\r' <"$f" |
			sed -n 's/^XTG-RERUN \([^ ]*\) pid=\([0-9]*\) signal=\([0-9]*\): \([^ ]*\).*/check "\1" ran again: \4 (pid \2) died of signal \3/p'
	done
}

# tgtd, the dom0 storage every scenario stands on, is alive.
# Builtins only: a polled check must not spawn processes (TCG flakes).
tgtd_alive() { local p; read -r p </run/xt-tgtd.pid 2>/dev/null && [ -n "$p" ] && [ -d "/proc/$p" ]; }

# After tgtd died: a new one with the same targets, and dom0's iSCSI
# sessions back (iscsid logs them in again; devices the session timeout
# took offline are set running). 0 when every session is logged in.
storage_recover() {
	local i n d
	bash "$XT/dom0/tgtd.sh" >>"$W/logs/storage.log" 2>&1 || return 1
	for i in $(seq 90); do
		n=$(iscsiadm -m session -P 1 2>/dev/null | grep -c 'iSCSI Session State: LOGGED_IN')
		[ "$n" -ge 4 ] && break
		sleep 1
	done
	for d in /sys/class/scsi_device/*/device/state; do
		[ "$(cat "$d")" = running ] || echo running >"$d" 2>/dev/null
	done
	[ "$n" -ge 4 ]
}

# Is a crash line about our own code? (then it is a bug, never a flake)
OURS='(scsiback|scsiback-worker|scsiback-spawn|vscsictl|vscsi|vscsi-lifecycle)\[|ld_vscsi|libvscsifront'

# our_reports SB_LINES LC_LINES: what our daemons' logs gained after those
# line counts that says our code broke: a sanitizer or glibc heap report,
# or an exit by a signal nobody sent (SIGILL..SIGFPE, SIGSEGV: an abort()
# leaves no kernel line). One line each, in the crash lines' form.
REPORTS='AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error: |\*\*\* .*\*\*\*: terminated|double free|free\(\): invalid|malloc\(\): |corrupted size vs|stack smashing detected'
our_reports() {
	local name log from
	for name in scsiback vscsi-lifecycle; do
		if [ $name = scsiback ]; then log=$SCSIBACK_LOG from=$1; else log=$LIFECYCLE_LOG from=$2; fi
		[ -f "$log" ] || continue
		tail -n +$((from + 1)) "$log" | tr -d '\r' | RE=$REPORTS awk -v n=$name '
			$1 == "=====" && $3 == "exited:" && ($5 >= 132 && $5 <= 136 || $5 == 139) {
				printf "dom0: %s[exit]: died of signal %d (%s)\n", n, $5 - 128, $0; next }
			$0 ~ ENVIRON["RE"] { printf "dom0: %s[report]: %s\n", n, substr($0, 1, 200) }'
	done
}
log_lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }

# missing_checks ID: the checks scenario ID declares ("# checks:" lines of
# dom0/ID.sh) that it did not record, one a line. A declared name may be
# a glob (a name with a domid in it) or alternatives "a|b".
missing_checks() {
	local names want alt found m
	names=$(awk '{ print $2 }' "$W/checks/$1")
	sed -n 's/^# checks: //p' "$XT/dom0/$1.sh" | tr ' ' '\n' | while read -r want; do
		[ -n "$want" ] || continue
		found=0
		IFS='|' read -ra alts <<<"$want"
		for alt in "${alts[@]}"; do
			while read -r m; do
				# shellcheck disable=SC2053 # a glob on purpose
				[[ $m == $alt ]] && { found=1; break; }
			done <<<"$names"
			[ $found = 1 ] && break
		done
		[ $found = 1 ] || echo "$want"
	done
}
crash_is_ours() { grep -qE "$OURS"; }
crash_lines_ours() { grep -E "$OURS"; }

# The number of dom0 event channel ports bound to domain D (lsevtchn).
evtchn_to() { lsevtchn 0 2>/dev/null | grep -cE "Remote Domain $1(,|\$)"; }

# A domain listed by xl other than dom0 (including dying "(null)" ones).
# (xl list under a time limit: run_scenario calls this after every
# scenario, and a hung xl there would hold the whole run.)
xl_list() { timeout -k 5 30 xl list "$@"; }
extra_domains() { xl_list 2>/dev/null | awk 'NR > 1 && $2 != 0 { printf "%s(%s) ", $1, $2 }'; }
