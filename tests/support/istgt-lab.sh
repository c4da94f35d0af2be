#!/usr/bin/env bash
# A private istgt for tests: one target with two 8 MiB disks, on free
# loopback ports. istgt (Debian's userspace iSCSI target) keeps SCSI-3
# persistent reservations per initiator port (name and ISID) the way SPC
# says, so a registration outlives its session; tgtd ties it to the
# session (its I_T nexus id and creation time), so any new login loses it.
# Reservations that must survive a backend restart or a save/restore are
# tested here.
#
#   istgt-lab.sh start RUNDIR   start (no-op if this RUNDIR's istgt runs)
#   istgt-lab.sh stop  RUNDIR   stop it and remove what start made
#
# start writes RUNDIR/istgt.env (shell syntax): ISTGT_PID ISTGT_PORT
# PR_URL PR2_URL (LUN 0 and LUN 1 of the target). Its log: RUNDIR/istgt.log.
# Exit codes: 0 ok, 1 failure, 2 usage.
set -u

NODE_BASE=iqn.2026-11.vscsi.test.istgt
DISK_MB=8

die() { echo "istgt-lab: $*" >&2; exit 1; }
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }

case ${1:-} in -h|--help) usage 0 ;; esac
[ $# -eq 2 ] || usage
cmd=$1
rundir=$2
[ -n "$rundir" ] || usage
envfile=$rundir/istgt.env

load_env() {
	ISTGT_PID= ISTGT_PORT=
	# shellcheck disable=SC1090
	[ -f "$envfile" ] && . "$envfile"
	return 0
}

is_our_istgt() {
	[ -n "$1" ] && [ -d "/proc/$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = istgt ] &&
		! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

port_in_use() { ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .; }

write_conf() {
	cat >"$rundir/istgt.conf" <<CONF
[Global]
  NodeBase "$NODE_BASE"
  PidFile $rundir/istgt.pid
  AuthFile $rundir/auth.conf
  MediaDirectory $rundir
  Timeout 30
  NopInInterval 20
  DiscoveryAuthMethod None
  MaxSessions 64
  MaxConnections 4
[UnitControl]
  AuthMethod None
  Portal UC1 127.0.0.1:$1
  Netmask 127.0.0.1
[PortalGroup1]
  Portal DA1 127.0.0.1:$2
[InitiatorGroup1]
  InitiatorName "ALL"
  Netmask 127.0.0.0/8
[LogicalUnit1]
  TargetName shared
  Mapping PortalGroup1 InitiatorGroup1
  AuthMethod None
  UseDigest Auto
  UnitType Disk
  LUN0 Storage $rundir/pr0.img Auto
  LUN1 Storage $rundir/pr1.img Auto
CONF
	: >"$rundir/auth.conf"
}

do_start() {
	local try uc i
	mkdir -p "$rundir" || die "cannot create $rundir"
	load_env
	is_our_istgt "$ISTGT_PID" && return 0
	command -v istgt >/dev/null || die "istgt is not installed (Debian package istgt)"
	for i in 0 1; do
		[ -f "$rundir/pr$i.img" ] || truncate -s ${DISK_MB}M "$rundir/pr$i.img" || die "no media"
	done
	for try in $(seq 1 20); do
		ISTGT_PORT=$((40000 + RANDOM % 20000))
		uc=$((ISTGT_PORT + 1))
		port_in_use "$ISTGT_PORT" || port_in_use "$uc" && continue
		write_conf "$uc" "$ISTGT_PORT"
		# setsid: not killed with the test's process group
		setsid istgt -c "$rundir/istgt.conf" -D -q </dev/null >>"$rundir/istgt.log" 2>&1 &
		ISTGT_PID=$!
		for i in $(seq 1 50); do
			is_our_istgt "$ISTGT_PID" || break
			if ss -Hltnp "( sport = :$ISTGT_PORT )" 2>/dev/null | grep -q "pid=$ISTGT_PID,"; then
				cat >"$envfile" <<ENV
ISTGT_PID=$ISTGT_PID
ISTGT_PORT=$ISTGT_PORT
PR_URL=iscsi://127.0.0.1:$ISTGT_PORT/$NODE_BASE:shared/0
PR2_URL=iscsi://127.0.0.1:$ISTGT_PORT/$NODE_BASE:shared/1
ENV
				return 0
			fi
			sleep 0.1
		done
		kill -KILL "$ISTGT_PID" 2>/dev/null
		wait "$ISTGT_PID" 2>/dev/null
	done
	die "istgt did not start (see $rundir/istgt.log)"
}

do_stop() {
	load_env
	if is_our_istgt "$ISTGT_PID"; then
		kill -TERM "$ISTGT_PID"
		for _ in $(seq 1 50); do is_our_istgt "$ISTGT_PID" || break; sleep 0.1; done
		is_our_istgt "$ISTGT_PID" && kill -KILL "$ISTGT_PID"
	fi
	rm -f "$rundir/pr0.img" "$rundir/pr1.img" "$rundir/istgt.conf" "$rundir/auth.conf" \
		"$rundir/istgt.pid" "$envfile"
}

case $cmd in
start) do_start ;;
stop) do_stop ;;
*) usage ;;
esac
