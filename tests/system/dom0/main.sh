#!/bin/bash
# dom0 side of `make check-xen`: started by /sbin/xt-init with the payload
# disk on /xt. Starts the Xen daemons and the storage (tgtd + open-iscsi),
# installs the project, runs the scenarios, writes the results and logs to
# the results disk (/dev/vdc, a tar archive) and powers the machine off.
# Console lines for the host: "XT: ..." progress, "XT-CHECK: ..." checks,
# "XT-RESULT: SCEN PASS|FAIL ..." one per scenario, "XT-DONE".
exec </dev/null >/dev/console 2>&1
. /xt/dom0/lib.sh

finish() {
	trap - EXIT
	say "collecting logs"
	{
		dmesg >"$W/logs/dom0-dmesg.log" 2>&1
		xl dmesg >"$W/logs/xen-dmesg.log" 2>&1
		cp -a "$CONSOLE_DIR" "$W/logs/console" 2>/dev/null
		cp /var/log/tgtd.log "$W/logs/" 2>/dev/null
	} >/dev/null 2>&1
	if [ -b /dev/vdc ]; then
		tar -C "$W" -cf /dev/vdc results logs checks 2>/dev/null || say "writing the results disk failed"
		sync
	fi
	echo "XT-DONE"
	sync
	echo o >/proc/sysrq-trigger
	sleep 20
}
trap finish EXIT

mount -t tmpfs -o size=1100m tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /var/log
mkdir -p "$W/logs" "$W/checks" /run/xen /run/xenstored /run/lock /var/log/xen/console \
	/var/lib/xen /var/lib/xenstored /var/run/tgtd
: >"$W/results"
ip link set lo up
for kv in $(cat /proc/cmdline); do
	case $kv in
	xt_scsiback_level=*) export XT_SCSIBACK_LEVEL=${kv#*=} ;;
	xt_kill_tgtd=*) KILL_TGTD=${kv#*=} ;;
	xt_freeze=*) FREEZE=${kv#*=} ;;
	xt_stick=*) STICK=${kv#*=} ;;
	esac
done
say "dom0 userspace up; kernel $(uname -r)"

# Nothing may load the kernel's PV SCSI backend behind our back: scsiback
# owns backend/vscsi until scenario 2 lifts this.
echo "install xen-scsiback /bin/false" >/etc/modprobe.d/xt-no-kernel-scsiback.conf

# The freshly built project, as a user installs it: its Debian packages,
# their dependencies from the image. (The postinst enables the units;
# nothing starts them without systemd: the scenarios start the daemons.)
if ! dpkg -i /xt/debs/*.deb >"$W/logs/dpkg.log" 2>&1; then
	tail -20 "$W/logs/dpkg.log" >/dev/console
	echo "XT-RESULT: setup FAIL dpkg -i of the packages"; echo "setup FAIL dpkg" >>"$W/results"
	exit 1
fi
say "installed: $(dpkg-query -W -f '${Package} ${Version}, ' scsiback vscsictl libvscsifront0 vscsifront-utils)"

# Xen userspace.
for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs configfs; do modprobe "$m"; done
mount -t xenfs xenfs /proc/xen
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
xenstored --pid-file /run/xenstored.pid || say "xenstored failed"
xen-init-dom0 >/dev/null || say "xen-init-dom0 failed"
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir="$CONSOLE_DIR" || say "xenconsoled failed"
if ! xl list >/dev/null 2>&1; then
	echo "XT-RESULT: setup FAIL xl list does not work" ; echo "setup FAIL xl" >>"$W/results"; exit 1
fi
say "xen ready: $(xl info | sed -n 's/^xen_version *: //p'), free $(xl info | sed -n 's/^free_memory *: //p') MiB"

XT_SCEN=setup
if ! bash "$XT/dom0/storage.sh" >"$W/logs/storage.log" 2>&1; then
	tail -30 "$W/logs/storage.log" >/dev/console
	echo "XT-RESULT: setup FAIL storage (tgtd/open-iscsi)"; echo "setup FAIL storage" >>"$W/results"
	exit 1
fi
say "storage ready: $(tr '\n' ' ' <"$W/storage.env")"

# run_scenario ID TIMEOUT DESCRIPTION
run_scenario() {
	local id=$1 limit=$2 desc=$3 rc start nok nfail failed verdict left
	start=$(up)
	# QEMU's hard limit must never be what ends a scenario: the results
	# would be lost. Each scenario gets at most what is left of the budget.
	left=$(awk -v b="$BUDGET" -v u="$start" 'BEGIN { printf "%d", b - u - 20 }')
	if [ "$left" -lt 60 ]; then
		echo "$id FAIL $desc: not run, the time budget ($BUDGET s of dom0 uptime) is spent" >>"$W/results"
		echo "XT-RESULT: $id FAIL not run, time budget spent"
		return
	fi
	[ "$left" -lt "$limit" ] && limit=$left
	say "scenario $id: $desc"
	if [ "${FREEZE:-}" = "$id" ]; then
		# The harness's own test (XT_FREEZE_DOM0): dom0 goes silent for
		# good, as a stopped dom0 does; the host must notice and boot again.
		say "freezing dom0 (XT_FREEZE_DOM0)"
		kill -STOP "$HEARTBEAT"
		while :; do nap 3600; done
	fi
	if [ "${STICK:-}" = "$id" ]; then
		# The harness's own test (XT_STICK_DOM0): run_scenario hangs with
		# a 10 s limit while the heartbeat goes on; the heartbeat must
		# report XT-STUCK and the host boot again.
		say "sticking run_scenario (XT_STICK_DOM0)"
		echo "$id $(up) 10" >"$W/running"
		while :; do nap 3600; done
	fi
	local attempt=1 crashes note=
	while :; do
		: >"$W/checks/$id"
		local before hung_before sb_from lc_from
		before=$(dom0_crashes | wc -l)
		sb_from=$(log_lines "$SCSIBACK_LOG") lc_from=$(log_lines "$LIFECYCLE_LOG")
		hung_before=$(cat "$W/logs/hangs" 2>/dev/null | wc -l)
		local killer=
		if [ "${KILL_TGTD:-}" = "$id" ] && [ $attempt -eq 1 ]; then
			(sleep 20; say "killing tgtd (XT_KILL_TGTD)"; kill -ABRT "$(cat /run/xt-tgtd.pid)") &
			killer=$!
		fi
		XT_SCEN=$id timeout -k 10 "$limit" bash "$XT/dom0/$id.sh" >"$W/logs/$id.log" 2>&1 &
		local spid=$!
		# For the heartbeat: this loop must end the attempt by its limit.
		echo "$id $(up) $limit" >"$W/running"
		# Without tgtd the scenario can only wait for its time limit. (Gone
		# three checks in a row: one missed look must not end a scenario.)
		local gone=0 t0=$SECONDS shown=0 st
		while kill -0 "$spid" 2>/dev/null; do
			# An ended scenario not yet reaped is a zombie, which kill -0
			# still finds: over (wait below reaps it). Builtins only.
			st=
			read -r _ _ st _ <"/proc/$spid/stat" 2>/dev/null
			[ "$st" = Z ] && break
			# timeout(1) ends it at the limit; should timeout itself be
			# stuck, this loop does (CI: dom0 looped here past s1's end).
			if [ $((SECONDS - t0)) -ge $((limit + 20)) ]; then
				say "$id: still running 20 s past its limit; killing it"
				kill -KILL "$spid" 2>/dev/null
				break
			fi
			if tgtd_alive; then gone=0; else gone=$((gone + 1)); fi
			if [ $gone -ge 3 ]; then
				say "tgtd is gone: ending $id"
				kill -TERM "$spid" 2>/dev/null
				break
			fi
			# Just before its time limit: what the scenario waits on, at
			# the end of its log (the report shows that end).
			if [ $shown = 0 ] && [ $((SECONDS - t0)) -ge $((limit - 6)) ]; then
				shown=1
				ps -eo pid,ppid,stat,etime,wchan:20,args --sort=start_time >"$W/ps.now"
				{ echo "[$(up)] about to time out; newest processes:"
				  grep -v -e ' \[' -e ' ps -eo ' "$W/ps.now" | tail -8 | cut -c1-150
				} >>"$W/logs/$id.log"
			fi
			reap_spinners
			nap 2
		done
		wait "$spid"
		rc=$?
		rm -f "$W/running"
		[ -n "$killer" ] && { kill "$killer" 2>/dev/null; wait "$killer" 2>/dev/null; }
		[ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "FAIL $id-timeout scenario exceeded $limit s" >>"$W/checks/$id"
		[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] && echo "FAIL $id-script exit status $rc" >>"$W/checks/$id"
		destroy_all_guests >>"$W/logs/$id.log" 2>&1
		nok=$(grep -c '^ok ' "$W/checks/$id")
		nfail=$(grep -c '^FAIL ' "$W/checks/$id")
		# Processes that died of a fault meanwhile, in dom0 and in the guests.
		crashes=$( { dom0_crashes | tail -n +$((before + 1)) | sed 's/^/dom0: /'
			# The scenario's bash itself killed by a fault (bash catches
			# SIGSEGV, so the kernel logs nothing; timeout passes on the
			# status). Our programs are its children: their faults do
			# not end it.
			case $rc in 132|133|134|135|136|139)
				echo "dom0: bash[$id.sh]: died of signal $((rc - 128)) (exit status $rc)" ;;
			esac
			tail -n +$((hung_before + 1)) "$W/logs/hangs" 2>/dev/null
			guest_crashes "$CONSOLE_DIR"/guest-xt-$id*.log | sed 's/^/guest: /'
			guest_reruns "$CONSOLE_DIR"/guest-xt-$id*.log | sed 's/^/guest: /'
			our_reports "$sb_from" "$lc_from"; } )
		# tgtd dying (glibc's heap checks abort it: no kernel line) takes
		# every LUN with it; a new one lets the next scenarios run.
		if ! tgtd_alive; then
			crashes="${crashes:+$crashes
}dom0: tgtd[$(cat /run/xt-tgtd.pid)]: died ($(grep -v '^tgtd: ' /var/log/tgtd.log | tail -1))"
			if storage_recover; then say "tgtd died during $id; restarted, sessions back"
			else say "tgtd died during $id; storage did not come back"; fi
		fi
		if [ -n "$crashes" ]; then
			echo "$crashes" | sed "s/^/[$id attempt $attempt] /" >>"$W/logs/crashes.log"
			say "processes died of a fault or hung during $id: $(echo "$crashes" | grep -oE '[a-z_.-]+\[([0-9]+|hung)\]:? [a-z ]+' | tr '\n' ';')"
		fi
		# The README of the xen-tcg lab: QEMU TCG x Xen PV kills a userspace
		# process now and then. A failed scenario with such a crash, none in
		# our own code, runs again (at most three attempts, time permitting;
		# the result says so).
		# A crash or report of our own code fails the scenario, checks or
		# not, and is never run again.
		if echo "$crashes" | crash_is_ours; then
			echo "FAIL $id-our-code-crashed $(echo "$crashes" | crash_lines_ours | head -3 | tr '\n' '|')" >>"$W/checks/$id"
			nfail=$((nfail + 1))
			note=" (a crash in our own code)"
			break
		fi
		[ "$nfail" -eq 0 ] || [ -z "$crashes" ] && break
		[ $attempt -ge 3 ] && break
		left=$(awk -v b="$BUDGET" -v u="$(up)" 'BEGIN { printf "%d", b - u - 20 }')
		[ "$left" -ge "$limit" ] || break
		mkdir -p "$W/logs/$id-attempt$attempt"
		mv "$W/logs/$id.log" "$W/checks/$id" "$W/logs/$id-attempt$attempt/"
		mv "$CONSOLE_DIR"/guest-xt-$id*.log "$W/logs/$id-attempt$attempt/" 2>/dev/null
		say "scenario $id failed after a TCG crash or hang of a process not ours: once more"
		attempt=$((attempt + 1))
		note=" (attempt $attempt: the earlier failed after a TCG crash or hang outside our code)"
	done
	local miss
	miss=$(missing_checks "$id" | tr '\n' ' ')
	if [ -n "$miss" ]; then
		echo "FAIL $id-missing-checks ${miss% }" >>"$W/checks/$id"
		nfail=$((nfail + 1))
	fi
	failed=$(awk '$1 == "FAIL" { printf "%s ", $2 }' "$W/checks/$id")
	if [ "$nfail" -eq 0 ] && [ "$nok" -gt 0 ]; then verdict=PASS; else verdict=FAIL; fi
	local line="$id $verdict $desc: $nok checks ok, $nfail failed${failed:+ ($failed)}, $(awk -v a="$start" -v b="$(up)" 'BEGIN { printf "%.0f", b - a }') s$note"
	echo "$line" >>"$W/results"
	echo "XT-RESULT: $line"
}

# Heartbeat: what runs, every 60 s, into logs/heartbeat.log (a hang shows
# which process waits where), and the newest scenario log line on the
# console.
(
	exec </dev/null >>"$W/logs/heartbeat.log" 2>&1
	while sleep 60; do
		echo "===== $(up)"
		ps -eo pid,ppid,stat,etime,wchan:24,args --sort=start_time | grep -v ' \[' | tail -40
		# Where each thread of scsiback's broker waits, with its system
		# call (number, first two arguments): a CI replica's broker sat
		# in futex_wait_queue for 20 minutes, and ps names no thread.
		if read -r sbp <"$SCSIBACK_PID" 2>/dev/null && [ -d "/proc/$sbp/task" ]; then
			line=
			for td in /proc/"$sbp"/task/*; do
				wc= n= a0= a1=
				read -r wc <"$td/wchan" 2>/dev/null
				read -r n a0 a1 _ <"$td/syscall" 2>/dev/null
				line+=" ${td##*/}:${wc:-?}[${n:-?} ${a0:-} ${a1:-}]"
			done
			echo "scsiback broker $sbp threads:$line"
		fi
		# Always a line: the host takes a silent console for a stopped dom0.
		cur=$(ls -t "$W"/logs/s?.log 2>/dev/null | head -1)
		if [ -n "$cur" ]; then echo "XT-HB: [$(up)] $(basename "$cur" .log): $(tail -1 "$cur" | cut -c1-150)"
		else echo "XT-HB: [$(up)] setup"; fi >/dev/console
		# Here too, not only in run_scenario's loop: a shell of main.sh
		# itself asleep in a futex holds that loop (CI: a main.sh
		# subshell in futex_wait_queue, run_scenario waiting on it, s7
		# stuck past its limit with its checks all done).
		reap_spinners
		# A scenario well past its limit means run_scenario itself is stuck
		# (seen in CI: s5 ran 1000 s past it, the console showing only
		# heartbeats until QEMU's limit). XT-STUCK tells the host to boot
		# again for what is left, and shows where it stood.
		if read -r rid rstart rlimit <"$W/running" 2>/dev/null &&
			over=$(awk -v u="$(up)" -v s="$rstart" -v l="$rlimit" 'BEGIN { printf "%d", u - s - l }') &&
			[ "$over" -ge 90 ]; then
			{ echo "XT-STUCK: [$(up)] $rid: still running $over s past its limit of $rlimit s; the newest processes:"
			  ps -eo pid,ppid,stat,etime,time,wchan:20,args --sort=start_time | grep -v -e ' \[' -e ' ps -eo ' |
				tail -12 | cut -c1-150 | sed 's/^/XT-STUCK:   /'
			  echo "XT-STUCK-END"
			} >/dev/console
		fi
	done
) &
HEARTBEAT=$!

SCENARIOS="s1 s4 s3 s5 s6 s7 s2"
BUDGET=1600   # dom0 uptime by which the results must be on their disk
for kv in $(cat /proc/cmdline); do
	case $kv in
	xt_scenarios=*) SCENARIOS=${kv#*=}; SCENARIOS=${SCENARIOS//+/ } ;;
	xt_budget=*) BUDGET=${kv#*=} ;;
	esac
done
for s in $SCENARIOS; do
	case $s in
	s1) run_scenario s1 360 "kernel xen-scsifront -> scsiback (disk, tape, changer, iscsi://, hotplug)" ;;
	s2) run_scenario s2 240 "libvscsifront/vscsi/shim -> kernel xen-scsiback (LIO)" ;;
	s3) run_scenario s3 360 "libvscsifront/vscsi/shim -> scsiback" ;;
	s4) run_scenario s4 360 "iscsi-test-cu through kernel front + scsiback vs dom0 direct" ;;
	s5) run_scenario s5 360 "guest destroyed mid-I/O, scsiback killed/restarted, next guest" ;;
	s6) run_scenario s6 420 "xl create/reboot/save+restore/migrate/destroy with vscsi-lifecycle, a failed entry" ;;
	s7) run_scenario s7 300 "two kernel-front guests share an iscsi:// LUN: persistent reservations" ;;
	esac
done
lifecycle_stop
scsiback_stop TERM
kill "$HEARTBEAT" 2>/dev/null
dom0_crashes >"$W/logs/dom0-crashes.log"
exit 0
