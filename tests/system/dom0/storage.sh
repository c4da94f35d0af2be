#!/bin/bash
# dom0 storage for the scenarios: tgtd on 127.0.0.1:3260 with
#   disk  (64 MiB, random)         -> open-iscsi -> /dev/sdX + /dev/sgN
#   vtl   (tape drive + changer, two cartridges in slots) -> /dev/nst0, /dev/sch0
#   hp    (16 MiB, random)         -> open-iscsi; hot-added in scenario 1
#   cu    (64 MiB)                 -> open-iscsi; iscsi-test-cu's LUN (scenario 4)
#   lib   (32 MiB, random)         -> not logged in: scsiback's iscsi:// LUN
#   pr    (8 MiB)                  -> not logged in: scenario 7's shared LUN
# and writes $W/storage.env (shell syntax) naming the dom0 nodes.
. /xt/dom0/lib.sh
set -u
IQN=iqn.2026-01.xt.vscsi
S=/tmp/xt-store
mkdir -p "$S/vtl"

# The disk images come on the payload disk (made on the host: /dev/urandom
# is slow under TCG).
for f in disk hp lib cu lio; do ln -s "$XT/data/$f.img" "$S/$f.img"; done
echo "[$(up)] images ready"
bash "$XT/dom0/tgtd.sh" || exit 1
modprobe -a iscsi_tcp sd_mod sg st ch
[ -s /etc/iscsi/initiatorname.iscsi ] || echo "InitiatorName=iqn.2026-01.xt.vscsi:dom0" >/etc/iscsi/initiatorname.iscsi
mkdir -p /run/lock/iscsi /var/lib/iscsi /etc/iscsi/nodes
iscsid || { echo "iscsid failed"; exit 1; }
timeout 60 iscsiadm -m discovery -t st -p 127.0.0.1:3260 || exit 1
# No NOP-Out pings: on loopback a connection cannot go quiet unnoticed (a
# tgtd that dies closes it), and under TCG a dom0 stalled for 5 s made the
# pings time out, which drops the connection and fails the passthrough
# commands in flight (sg does not retry them): CI replicas saw "ping
# timeout of 5 secs expired" on every session during a stall.
for name in disk hp cu vtl; do
	for k in noop_out_interval noop_out_timeout; do
		timeout 60 iscsiadm -m node -T "$IQN:$name" -p 127.0.0.1:3260 -o update \
			-n "node.conn[0].timeo.$k" -v 0 || exit 1
	done
	timeout 60 iscsiadm -m node -T "$IQN:$name" -p 127.0.0.1:3260 --login || exit 1
done

echo "[$(up)] logged in; NOP-Out interval/timeout per connection (0/0: none):" \
	"$(for c in /sys/class/iscsi_connection/*; do echo "$(cat "$c/recv_tmo")/$(cat "$c/ping_tmo")"; done | tr '\n' ' ')"
# Finds the scsi_device of target NAME, LUN L: prints H:C:T:L.
find_dev() {
	local d sess
	for d in /sys/class/scsi_device/*; do
		[ "${d##*:}" = "$2" ] || continue
		sess=$(readlink -f "$d/device" | grep -o 'session[0-9]*' | head -1)
		[ -n "$sess" ] || continue
		[ "$(cat /sys/class/iscsi_session/$sess/targetname)" = "$IQN:$1" ] && { basename "$d"; return 0; }
	done
	return 1
}
for i in $(seq 60); do
	find_dev disk 1 >/dev/null && find_dev hp 1 >/dev/null && find_dev cu 1 >/dev/null &&
		find_dev vtl 1 >/dev/null && find_dev vtl 2 >/dev/null && break
	sleep 1
done
sgof() { ls "/sys/class/scsi_device/$1/device/scsi_generic"; }
DISK_HCTL=$(find_dev disk 1) HP_HCTL=$(find_dev hp 1) CU_HCTL=$(find_dev cu 1) \
	TAPE_HCTL=$(find_dev vtl 1) CHG_HCTL=$(find_dev vtl 2) || { lsscsi -g; exit 1; }
for i in $(seq 30); do
	ls "/sys/class/scsi_device/$DISK_HCTL/device/block" "/sys/class/scsi_device/$HP_HCTL/device/block" >/dev/null 2>&1 && break
	sleep 1
done
lsscsi -g
cat >"$W/storage.env" <<EOF
STORE=$S
IQN=$IQN
DISK_IMG=$S/disk.img
HP_IMG=$S/hp.img
LIB_IMG=$S/lib.img
CU_IMG=$S/cu.img
DISK_HCTL=$DISK_HCTL
DISK_SG=/dev/$(sgof "$DISK_HCTL")
DISK_SD=/dev/$(ls "/sys/class/scsi_device/$DISK_HCTL/device/block")
HP_SG=/dev/$(sgof "$HP_HCTL")
HP_SD=/dev/$(ls "/sys/class/scsi_device/$HP_HCTL/device/block")
CU_SG=/dev/$(sgof "$CU_HCTL")
TAPE_HCTL=$TAPE_HCTL
TAPE_SG=/dev/$(sgof "$TAPE_HCTL")
TAPE_NST=/dev/n$(ls "/sys/class/scsi_device/$TAPE_HCTL/device/scsi_tape" | grep -m1 '^st[0-9]*$')
CHG_HCTL=$CHG_HCTL
CHG_SG=/dev/$(sgof "$CHG_HCTL")
LIB_URL=iscsi://127.0.0.1:3260/$IQN:lib/1
PR_URL=iscsi://127.0.0.1:3260/$IQN:pr/1
EOF
cat "$W/storage.env"
