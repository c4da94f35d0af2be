#!/bin/bash
# Scenario 1: the guest's stock xen-scsifront against our scsiback.
# vscsictl applies an xl-style vscsi list (disk by /dev/sdX, tape by
# /dev/nstN, changer by H:C:T:L, a LUN by iscsi:// URL) to a paused guest;
# the guest checks the LUNs with sg3_utils, dd, mt-st, tapeinfo and mtx
# while dom0 hot-adds and hot-removes a fifth LUN under the guest's I/O.
# dom0 compares every checksum the guest reports with the backing files.
# The checks the scenario must record, whatever their verdict (main.sh
# fails it when one is missing; a glob matches any name, 'a|b' either).
# checks: kernel-backend-unloaded vscsictl-apply vscsictl-list backend-connected worker-sandbox
# checks: worker-threads hotadd hotremove
# checks: guest:devices-appeared guest:inq-disk guest:tur-disk guest:inq-tape guest:inq-changer
# checks: guest:tur-changer guest:inq-iscsi guest:tur-iscsi guest:tur-tape-no-medium
# checks: guest:inq-disk-vendor guest:inq-iscsi-serial guest:readcap-disk guest:readcap-iscsi
# checks: guest:luns guest:disk-read-blk guest:disk-read-sg guest:disk-write-sg guest:disk-write-blk
# checks: guest:disk-readback guest:disk-readback-md5 guest:iscsi-read-blk guest:iscsi-read-sg
# checks: guest:iscsi-write-sg guest:mtx-status guest:mtx-load guest:mtx-status-loaded guest:tapeinfo
# checks: guest:mt-rewind guest:tape-write-0 guest:tape-weof guest:tape-write-2 guest:tape-rewind
# checks: guest:tape-read-0 guest:tape-rewind-1 guest:tape-fsf-1 guest:tape-read-1
# checks: guest:tape-rewind-2 guest:tape-fsf-2 guest:tape-read-2 guest:tape-data
# checks: guest:tape-status-file guest:tape-rewind-3 guest:mtx-unload guest:mtx-status-unloaded
# checks: guest:mtx-reload guest:tape-read-reloaded guest:tape-data-kept guest:mtx-unload-2
# checks: guest:hotadd-seen guest:hotadd-inq guest:hotadd-read guest:hotremove-gone
# checks: guest:io-during-hotplug guest:no-kernel-io-errors disk-read disk-read-sg disk-write-sg
# checks: disk-write-blk iscsi-read iscsi-read-sg iscsi-write-sg hotadd-read capacity-disk
# checks: capacity-iscsi hotremove-xenstore scsiback-alive
. /xt/dom0/lib.sh
. "$W/storage.env"
G=xt-s1

if [ -d /sys/module/xen_scsiback ]; then fail kernel-backend-unloaded "xen-scsiback is loaded"
else pass kernel-backend-unloaded; fi
scsiback_start || { fail scsiback-start; exit 1; }
# Its sandbox as the unit sets it: root with CAP_SYS_ADMIN, CAP_SYS_RAWIO
# and CAP_KILL only (0x220020: it gives setuid, setgid and chroot up once
# its worker spawner has them), no_new_privs; and its own seccomp filter
# (mode 2), on once it serves.
for _ in $(seq 50); do
	sb=$(sandbox_report scsiback "$(scsiback_pid)")
	case "$sb" in *"Seccomp: 2"*) break ;; esac
	sleep 0.2
done
case "$sb" in
*"CapEff: 0000000000220020"*"NoNewPrivs: 1"*"Seccomp: 2"*) pass scsiback-sandbox "$sb" ;;
*) fail scsiback-sandbox "$sb" ;;
esac

dom=$(guest_create $G 4 s1 xt_front=kernel) || { fail guest-create; exit 1; }
BE=/local/domain/0/backend/vscsi/$dom/0
cat >"$W/$G.vscsi.cfg" <<EOF
# xl-style PV SCSI list (xl itself has no vscsi support in 4.17)
vscsi = [ "$DISK_SD,0:0:0:0", "$TAPE_NST,0:0:1:0",
          "$CHG_HCTL,0:0:2:0", "$LIB_URL,0:0:3:0" ]
EOF
cat "$W/$G.vscsi.cfg"
expect vscsictl-apply t 120 vscsictl apply $G "$W/$G.vscsi.cfg"
xenstore-ls -f "$BE"
expect vscsictl-list t 30 vscsictl list $G
guest_unpause $G

if guest_wait $G '^XTG-STAGE io-running' 240; then
	if [ "$(xenstore-read "$BE/state")" = 4 ]; then pass backend-connected
	else fail backend-connected "backend state $(xenstore-read "$BE/state")"; fi
	# What serves the guest (docs/privsep.md): its own worker, as the
	# package's _scsiback user, no capability at all, no_new_privs, its
	# seccomp filter; and so is each of its threads (the SG_IO threads
	# of its sg LUNs, scsiback/sgio.h), which serve the LUNs above.
	wu=$(id -u _scsiback 2>/dev/null)
	want="Uid: $wu $wu $wu $wu "*"CapPrm: 0000000000000000 CapEff: 0000000000000000 "*"NoNewPrivs: 1 Seccomp: 2"
	wp=$(worker_pid "$dom") && wr=$(sandbox_report scsiback-worker "$wp")
	case "${wu:-none} ${wr:-}" in
	[1-9]*" "$want*) pass worker-sandbox "pid $wp: $wr" ;;
	*) fail worker-sandbox "user _scsiback uid '${wu:-none}', worker pid '${wp:-none}': ${wr:-}" ;;
	esac
	nt=0 bad=
	for t in /proc/"${wp:-0}"/task/*; do
		[ -d "$t" ] || continue
		nt=$((nt + 1))
		tr=$(sandbox_report scsiback-worker "${wp}/task/${t##*/}")
		case "$tr" in $want*) ;; *) bad="$bad ${t##*/}: $tr;" ;; esac
	done
	if [ "$nt" -ge 5 ] && [ -z "$bad" ] && [ -n "$wu" ]; then pass worker-threads "$nt threads alike"
	else fail worker-threads "$nt threads (want 5: the loop and 4 SG_IO threads)${bad:+; differing:$bad}"; fi
	expect hotadd t 60 vscsictl attach $G "$HP_SG" 0:0:4:0
	xenstore-ls -f "$BE/vscsi-devs"
	guest_wait $G '^XTG-STAGE hotadd-done' 180 || fail hotadd-guest "guest did not finish with the new LUN"
	expect hotremove t 60 vscsictl detach $G 0:0:4:0
	xenstore-ls -f "$BE/vscsi-devs"
else
	fail guest-io-running "the guest never reached the hotplug stage"
fi
guest_finish $G 120

# Data as dom0 sees it in the backing files.
md5_check disk-read $G disk.read.0-16 "$(md5_of "$DISK_IMG" 0 16)"
md5_check disk-read-sg $G disk.read.0-16.sg "$(md5_of "$DISK_IMG" 0 16)"
md5_check disk-write-sg $G disk.write.32-40 "$(md5_of "$DISK_IMG" 32 8)"
md5_check disk-write-blk $G disk.write.40-48 "$(md5_of "$DISK_IMG" 40 8)"
md5_check iscsi-read $G lib.read.0-8 "$(md5_of "$LIB_IMG" 0 8)"
md5_check iscsi-read-sg $G lib.read.0-8.sg "$(md5_of "$LIB_IMG" 0 8)"
md5_check iscsi-write-sg $G lib.write.16-20 "$(md5_of "$LIB_IMG" 16 4)"
md5_check hotadd-read $G hp.read.0-16 "$(md5_of "$HP_IMG" 0 16)"
for x in "disk $DISK_IMG" "iscsi $LIB_IMG"; do
	set -- $x
	want=$(( $(stat -L -c %s "$2") / 512 )) got=$(guest_value $G "$1.blocks")
	if [ "$got" = "$want" ]; then pass "capacity-$1" "$got blocks"
	else fail "capacity-$1" "guest saw '$got' blocks, backing file has $want"; fi
done
if [ -z "$(xenstore-ls "$BE/vscsi-devs/dev-4" 2>/dev/null)" ]; then pass hotremove-xenstore
else fail hotremove-xenstore "dev-4 still in xenstore"; fi
scsiback_pid >/dev/null && pass scsiback-alive || fail scsiback-alive "scsiback died"
grep -E ' (err|ERROR|error)[: ]' "$SCSIBACK_LOG" | tail -20
exit 0
