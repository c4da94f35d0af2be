#!/usr/bin/env bash
# A private tgtd for tests: disk, tape and a small virtual tape library,
# on a free loopback port, never touching a tgtd that is already running.
#
#   tgtd-lab.sh start   RUNDIR   start (no-op if this RUNDIR's tgtd runs)
#   tgtd-lab.sh stop    RUNDIR   orderly stop, then remove everything
#   tgtd-lab.sh kill    RUNDIR   SIGKILL the daemon (crash test); keeps
#                                RUNDIR so that restart can reuse it
#   tgtd-lab.sh restart RUNDIR   start again on the same ports with the
#                                same backing files
#   tgtd-lab.sh status  RUNDIR   exit 0 if running
#   tgtd-lab.sh show    RUNDIR   tgtadm's view of the targets: LUNs and
#                                I_T nexuses (initiator names, connections)
#
# start writes RUNDIR/tgtd.env (shell syntax):
#   TGTD_PID TGTD_PORT TGTD_CONTROL_PORT
#   DISK_URL TAPE_URL VTL_DRIVE1_URL VTL_DRIVE2_URL CHANGER_URL
#   CHAP_URL CHAP_USER CHAP_PASSWORD (an 8 MiB disk that wants CHAP)
#   SHARED_URL SHARED2_URL (two 8 MiB disks of one target, for
#   reservations between initiators)
# Backing files live in RUNDIR; tgtd's log is RUNDIR/tgtd.log.
# Exit codes: 0 ok, 1 failure, 2 usage.
set -u

IQN_BASE=iqn.2026-11.vscsi.test
SOCKDIR=/var/run/tgtd
DISK_MB=64
TAPE_MB=64
CHAP_MB=8
CHAP_USER=vscsi-user
CHAP_PASSWORD=vscsi-secret-1

die() { echo "tgtd-lab: $*" >&2; exit 1; }
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }

case ${1:-} in -h|--help) usage 0 ;; esac
[ $# -eq 2 ] || usage
cmd=$1
rundir=$2
[ -n "$rundir" ] || usage
envfile=$rundir/tgtd.env

# Loads the state left by start into LAB_* variables (empty if none).
load_env() {
	TGTD_PID= TGTD_PORT= TGTD_CONTROL_PORT=
	# shellcheck disable=SC1090
	[ -f "$envfile" ] && . "$envfile"
	return 0
}

# True when PID is alive and is a tgtd (not a recycled PID).
is_our_tgtd() {
	local pid=$1
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = tgtd ] || return 1
	# A zombie is not running.
	! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null
}

# A listener on the port (connections in TIME-WAIT do not stop tgtd,
# which binds with SO_REUSEADDR).
port_in_use() {
	ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .
}

# Our tgtd is the one listening on the port.
port_is_ours() {
	ss -Hltnp "( sport = :$TGTD_PORT )" 2>/dev/null | grep -q "pid=$TGTD_PID,"
}

control_in_use() {
	[ -e "$SOCKDIR/socket.$1" ] || [ -e "$SOCKDIR/socket.$1.lock" ]
}

tgtadm_lab() { tgtadm -C "$TGTD_CONTROL_PORT" "$@"; }

write_env() {
	local base=iscsi://127.0.0.1:$TGTD_PORT
	cat >"$envfile.tmp" <<EOF
TGTD_PID=$TGTD_PID
TGTD_PORT=$TGTD_PORT
TGTD_CONTROL_PORT=$TGTD_CONTROL_PORT
DISK_URL=$base/$IQN_BASE:disk/1
TAPE_URL=$base/$IQN_BASE:tape/1
VTL_DRIVE1_URL=$base/$IQN_BASE:vtl/1
VTL_DRIVE2_URL=$base/$IQN_BASE:vtl/2
CHANGER_URL=$base/$IQN_BASE:vtl/3
CHAP_URL=$base/$IQN_BASE:chap/1
SHARED_URL=$base/$IQN_BASE:shared/1
SHARED2_URL=$base/$IQN_BASE:shared/2
CHAP_USER=$CHAP_USER
CHAP_PASSWORD=$CHAP_PASSWORD
EOF
	mv "$envfile.tmp" "$envfile"
}

# Creates the backing files once; restart reuses them.
make_media() {
	mkdir -p "$rundir/vtl" || return 1
	if [ ! -f "$rundir/disk.img" ]; then
		truncate -s ${DISK_MB}M "$rundir/disk.img" || return 1
	fi
	local f
	for f in chap shared1 shared2; do
		[ -f "$rundir/$f.img" ] || truncate -s ${CHAP_MB}M "$rundir/$f.img" || return 1
	done
	local b
	for b in SOLO0001 TAPE0001 TAPE0002 TAPE0003 TAPE0004; do
		[ -f "$rundir/vtl/$b" ] && continue
		tgtimg --op new --device-type tape --barcode "$b" --size $TAPE_MB \
			--type data --file "$rundir/vtl/$b" >/dev/null || return 1
	done
	if [ ! -f "$rundir/vtl/smc" ]; then
		dd if=/dev/zero of="$rundir/vtl/smc" bs=1k count=1 status=none || return 1
	fi
}

configure() {
	local t lu
	# tid 1: disk
	tgtadm_lab --lld iscsi --op new --mode target --tid 1 -T $IQN_BASE:disk &&
	tgtadm_lab --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 \
		--bstype rdwr -b "$rundir/disk.img" &&
	tgtadm_lab --lld iscsi --op bind --mode target --tid 1 -I ALL || return 1
	# tid 2: stand-alone tape drive with media loaded
	tgtadm_lab --lld iscsi --op new --mode target --tid 2 -T $IQN_BASE:tape &&
	tgtadm_lab --lld iscsi --op new --mode logicalunit --tid 2 --lun 1 \
		--device-type tape --bstype ssc -b "$rundir/vtl/SOLO0001" &&
	tgtadm_lab --lld iscsi --op bind --mode target --tid 2 -I ALL || return 1
	# tid 3: VTL, drives LUN 1 and 2 start empty, changer LUN 3
	t=3
	tgtadm_lab --lld iscsi --op new --mode target --tid $t -T $IQN_BASE:vtl || return 1
	for lu in 1 2; do
		tgtadm_lab --lld iscsi --op new --mode logicalunit --tid $t --lun $lu \
			--device-type tape --bstype ssc -b "$rundir/vtl/TAPE000$lu" &&
		tgtadm_lab --lld iscsi --op update --mode logicalunit --tid $t --lun $lu \
			--params online=0 || return 1
	done
	local smc=(--lld iscsi --op update --mode logicalunit --tid $t --lun 3 --params)
	tgtadm_lab --lld iscsi --op new --mode logicalunit --tid $t --lun 3 \
		--device-type changer --bstype smc -b "$rundir/vtl/smc" &&
	tgtadm_lab "${smc[@]}" media_home="$rundir/vtl" &&
	tgtadm_lab "${smc[@]}" element_type=4,start_address=1,quantity=2 &&
	tgtadm_lab "${smc[@]}" element_type=4,address=1,tid=$t,lun=1 &&
	tgtadm_lab "${smc[@]}" element_type=4,address=2,tid=$t,lun=2 &&
	tgtadm_lab "${smc[@]}" element_type=1,start_address=16,quantity=1 &&
	tgtadm_lab "${smc[@]}" element_type=2,start_address=1024,quantity=8 &&
	tgtadm_lab "${smc[@]}" element_type=2,address=1024,barcode=TAPE0001,sides=1 &&
	tgtadm_lab "${smc[@]}" element_type=2,address=1025,barcode=TAPE0002,sides=1 &&
	tgtadm_lab "${smc[@]}" element_type=2,address=1026,barcode=TAPE0003,sides=1 &&
	tgtadm_lab "${smc[@]}" element_type=2,address=1027,barcode=TAPE0004,sides=1 &&
	tgtadm_lab "${smc[@]}" element_type=3,start_address=32,quantity=1 &&
	tgtadm_lab --lld iscsi --op bind --mode target --tid $t -I ALL || return 1
	# tid 4: a disk behind CHAP
	tgtadm_lab --lld iscsi --op new --mode target --tid 4 -T $IQN_BASE:chap &&
	tgtadm_lab --lld iscsi --op new --mode logicalunit --tid 4 --lun 1 \
		--bstype rdwr -b "$rundir/chap.img" &&
	tgtadm_lab --lld iscsi --op bind --mode target --tid 4 -I ALL &&
	tgtadm_lab --lld iscsi --op new --mode account --user $CHAP_USER --password $CHAP_PASSWORD &&
	tgtadm_lab --lld iscsi --op bind --mode account --tid 4 --user $CHAP_USER || return 1
	# tid 5: two disks a cluster shares (persistent reservations)
	tgtadm_lab --lld iscsi --op new --mode target --tid 5 -T $IQN_BASE:shared &&
	tgtadm_lab --lld iscsi --op new --mode logicalunit --tid 5 --lun 1 \
		--bstype rdwr -b "$rundir/shared1.img" &&
	tgtadm_lab --lld iscsi --op new --mode logicalunit --tid 5 --lun 2 \
		--bstype rdwr -b "$rundir/shared2.img" &&
	tgtadm_lab --lld iscsi --op bind --mode target --tid 5 -I ALL
}

# Waits until the management socket answers (tgtd is up) or it died.
# (Just after the fork the child is still setsid, not yet tgtd: only its
# death ends the wait early.)
wait_ready() {
	local i
	for i in $(seq 1 100); do
		[ -d "/proc/$TGTD_PID" ] && ! grep -q '^State:.*Z' "/proc/$TGTD_PID/status" 2>/dev/null ||
			return 1
		tgtadm_lab --op show --mode sys >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

wait_listening() {
	local i
	for i in $(seq 1 50); do
		is_our_tgtd "$TGTD_PID" || return 1
		port_is_ours && return 0
		sleep 0.1
	done
	return 1
}

# Removes the socket files tgtd leaves behind when killed; only ours.
clean_sockets() {
	[ -n "$TGTD_CONTROL_PORT" ] || return 0
	rm -f "$SOCKDIR/socket.$TGTD_CONTROL_PORT" "$SOCKDIR/socket.$TGTD_CONTROL_PORT.lock"
}

# Launches tgtd on TGTD_PORT / TGTD_CONTROL_PORT; sets TGTD_PID.
launch() {
	mkdir -p "$SOCKDIR" || return 1
	# setsid: the daemon must not die with the test's process group or
	# terminal, and must not hold the caller's stdout open.
	setsid tgtd -f -C "$TGTD_CONTROL_PORT" --iscsi portal=127.0.0.1:"$TGTD_PORT" \
		</dev/null >>"$rundir/tgtd.log" 2>&1 &
	TGTD_PID=$!
	if ! wait_ready; then
		# our own child, not yet waited for: its pid cannot be anyone else's
		kill -KILL "$TGTD_PID" 2>/dev/null
		wait "$TGTD_PID" 2>/dev/null
		clean_sockets
		return 1
	fi
	if ! configure >>"$rundir/tgtd.log" 2>&1 || ! wait_listening; then
		kill -KILL "$TGTD_PID" 2>/dev/null
		wait "$TGTD_PID" 2>/dev/null
		clean_sockets
		return 1
	fi
	return 0
}

do_start() {
	mkdir -p "$rundir" || die "cannot create $rundir"
	load_env
	if is_our_tgtd "$TGTD_PID"; then
		return 0
	fi
	make_media || die "cannot create backing files in $rundir"
	local try
	for try in $(seq 1 20); do
		TGTD_PORT=$((20000 + RANDOM % 20000))
		TGTD_CONTROL_PORT=$((1000 + RANDOM % 30000))
		port_in_use "$TGTD_PORT" && continue
		control_in_use "$TGTD_CONTROL_PORT" && continue
		if launch; then
			write_env
			return 0
		fi
	done
	die "could not start tgtd (see $rundir/tgtd.log)"
}

do_restart() {
	load_env
	[ -n "$TGTD_PORT" ] && [ -n "$TGTD_CONTROL_PORT" ] || { do_start; return; }
	if is_our_tgtd "$TGTD_PID"; then
		kill -KILL "$TGTD_PID" 2>/dev/null
		wait_gone "$TGTD_PID"
	fi
	clean_sockets
	make_media || die "cannot create backing files in $rundir"
	local try
	# The old listening socket may linger for a moment.
	for try in $(seq 1 50); do
		port_in_use "$TGTD_PORT" || break
		sleep 0.1
	done
	launch || die "could not restart tgtd on port $TGTD_PORT (see $rundir/tgtd.log)"
	write_env
}

wait_gone() {
	local i
	for i in $(seq 1 100); do
		is_our_tgtd "$1" || return 0
		sleep 0.05
	done
	return 1
}

do_kill() {
	load_env
	if is_our_tgtd "$TGTD_PID"; then
		kill -KILL "$TGTD_PID" 2>/dev/null
		wait_gone "$TGTD_PID" || die "tgtd $TGTD_PID did not die"
	fi
	clean_sockets
	return 0
}

do_stop() {
	load_env
	if is_our_tgtd "$TGTD_PID"; then
		# tgtd ignores SIGTERM: take it offline, drop the targets, then
		# delete the system, which makes it exit.
		tgtadm_lab --op update --mode sys --name State -v offline >/dev/null 2>&1
		local tid
		for tid in 4 3 2 1; do
			tgtadm_lab --lld iscsi --op delete --force --mode target --tid $tid >/dev/null 2>&1
		done
		tgtadm_lab --op delete --mode system >/dev/null 2>&1
		if ! wait_gone "$TGTD_PID"; then
			kill -KILL "$TGTD_PID" 2>/dev/null
			wait_gone "$TGTD_PID" || die "tgtd $TGTD_PID did not stop"
		fi
	fi
	clean_sockets
	rm -rf "$rundir/vtl" "$rundir/disk.img" "$rundir/chap.img" "$rundir/shared1.img" "$rundir/shared2.img" "$envfile" "$envfile.tmp" "$rundir/tgtd.log"
	rmdir "$rundir" 2>/dev/null
	return 0
}

case $cmd in
start) do_start ;;
stop) do_stop ;;
kill) do_kill ;;
restart) do_restart ;;
status) load_env; is_our_tgtd "$TGTD_PID" ;;
show) load_env; [ -n "$TGTD_CONTROL_PORT" ] || die "no tgtd in $rundir"
	tgtadm_lab --lld iscsi --op show --mode target ;;
*) usage ;;
esac
