#!/bin/bash
# Scenario 7: a guest cluster's shared LUN. Two guests with the kernel's
# xen-scsifront share one iscsi:// LUN of tgtd through scsiback, each
# logged in as its own initiator (iqn.2026-11.org.vscsi:guest.UUID, the
# user guide's "Shared LUNs and clusters"). dom0 steps them through SCSI-3
# persistent reservations with sg_persist: A registers and reserves (Write
# Exclusive); B's write conflicts, its read does not; B registers and
# preempts A; A is told (UNIT ATTENTION) and can no longer write; A's
# LOGICAL UNIT RESET leaves B's reservation alone.
# The checks the scenario must record, whatever their verdict (main.sh
# fails it when one is missing; a glob matches any name, 'a|b' either).
# checks: attach-a attach-b initiators-per-guest steps
# checks: guest:pr-a-register guest:pr-a-reserve guest:pr-a-write guest:pr-b-write-conflict
# checks: guest:pr-b-read guest:pr-b-sees-a-reserved guest:pr-b-register guest:pr-b-preempt
# checks: guest:pr-a-told-preempted guest:pr-a-write-conflict guest:pr-a-sees-b-reserved
# checks: guest:pr-a-lun-reset guest:pr-b-told-reset guest:pr-b-reservation-kept guest:pr-b-write
# checks: guest:pr-b-clear fresh-lun
. /xt/dom0/lib.sh
. "$W/storage.env"
A=xt-s7a
B=xt-s7b
scsiback_start || { fail scsiback-start; exit 1; }
# A fresh LUN (an earlier attempt's registrations would stay: tgtd ties
# them to sessions that are gone, so no one could clear them).
t 30 tgtadm --lld iscsi --op delete --mode logicalunit --tid 6 --lun 1
rm -f "$STORE/pr.img"
truncate -s 8M "$STORE/pr.img"
expect fresh-lun t 30 tgtadm --lld iscsi --op new --mode logicalunit --tid 6 --lun 1 -b "$STORE/pr.img"
da=$(guest_create $A 1 s7 xt_front=kernel xt_role=a) || { fail guest-create; exit 1; }
db=$(guest_create $B 1 s7 xt_front=kernel xt_role=b) || { fail guest-create; exit 1; }
expect attach-a t 60 vscsictl attach $A "$PR_URL" 0:0:0:0 shared
expect attach-b t 60 vscsictl attach $B "$PR_URL" 0:0:0:0 shared
guest_unpause $A
guest_unpause $B
if ! guest_wait $A '^XTG-STAGE pr-ready' 150 || ! guest_wait $B '^XTG-STAGE pr-ready' 150; then
	fail steps "the guests did not find the shared LUN"
	guest_finish $A 10
	guest_finish $B 10
	exit 0
fi

# Each guest is its own initiator on the target, named by its UUID.
show=$(t 30 tgtadm --lld iscsi --op show --mode target)
missing=
for d in $da $db; do
	u=$(xenstore-read /local/domain/$d/vm)
	grep -q "Initiator: iqn.2026-11.org.vscsi:guest.${u#/vm/} " <<<"$show" || missing="$missing ${u#/vm/}"
done
[ -z "$missing" ] && pass initiators-per-guest || fail initiators-per-guest "no session of guest$missing"
vscsictl list $A

step_done() { [ "$(timeout -k 2 5 xenstore-read "/local/domain/$2/data/xt-done" 2>/dev/null)" = "$1" ]; }
# step N DOMID: the guest runs its part of step N (60 s at most).
step() {
	local t0=$SECONDS
	xenstore-write "/local/domain/$2/data/xt-step" "$1"
	# Kept by the clock, not by counting naps: a nap cut short must not
	# shorten the step. Each read has a limit: one xenstore-read hung in
	# a futex under TCG for four minutes.
	while [ $((SECONDS - t0)) -lt 60 ]; do
		step_done "$@" && return 0
		nap 0.5
	done
	step_done "$@"
}
ok=1
for s in 1:$da 2:$da 3:$da 4:$db 5:$db 6:$db 7:$db 8:$db 9:$da 10:$da 11:$da 12:$da 13:$db 14:$db 15:$db 16:$db; do
	step "${s%%:*}" "${s#*:}" || { fail steps "step ${s%%:*} did not end in domain ${s#*:}"; ok=0; break; }
done
[ $ok = 1 ] && pass steps "16 steps"
xenstore-write "/local/domain/$da/data/xt-step" end
xenstore-write "/local/domain/$db/data/xt-step" end
guest_finish $A 60
guest_finish $B 60
exit 0
