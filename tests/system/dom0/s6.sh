#!/bin/bash
# Scenario 6: PV SCSI devices that follow a domain through xl's lifecycle,
# driven by xl commands alone. vscsi-lifecycle (with a config dir of its
# own) reads the domain's `vscsi = [ ... ]` (disk, tape and changer as
# dom0's /dev/sgN) and gives each new domain its vhosts before it runs:
#   xl create (no -p)  the guest sees its LUNs at boot, writes block 1
#   xl reboot          a new domain (new domid): same LUNs, block 1 reads
#                      back, block 2 written
#   xl save + restore  the resumed kernel, the same guest process: its LUNs
#                      work, blocks 1-2 read back, block 3 written
#   xl migrate (to localhost) the same, block 4
#   xl destroy         nothing left in xenstore, scsiback and the service
#                      running
# then a domain whose second entry names a p-dev that does not exist: it
# runs with its good LUN, the service's log names domain, entry and cause,
# vscsictl list shows the failed entry. After every step dom0 compares the
# guest's checksums with the pattern and the backing file, and checks that
# backend/vscsi and /libxl/*/vscsi hold the live domain's vhost alone.
# The checks the scenario must record, whatever their verdict (main.sh
# fails it when one is missing; a glob matches any name, 'a|b' either).
# checks: create create-booted create-guest-step create-guest-domid create-same-uuid
# checks: create-guest-write create-backing-1 create-xenstore reboot reboot-booted reboot-guest-step
# checks: reboot-guest-domid reboot-same-uuid reboot-guest-write reboot-guest-read-1 reboot-backing-1
# checks: reboot-backing-2 reboot-xenstore save save-xenstore-empty save-record-kept restore
# checks: restore-guest-step restore-guest-domid restore-same-uuid restore-guest-write
# checks: restore-guest-read-1 restore-guest-read-2 restore-backing-1 restore-backing-2
# checks: restore-backing-3 restore-xenstore migrate-method migrate
# checks: migrate-guest-step migrate-guest-domid migrate-same-uuid migrate-guest-write
# checks: migrate-guest-read-1 migrate-guest-read-2 migrate-guest-read-3 migrate-backing-1
# checks: migrate-backing-2 migrate-backing-3 migrate-backing-4 migrate-xenstore reboot-new-boot
# checks: resumed-same-process destroy destroy-xenstore-empty destroy-record-removed
# checks: destroy-scsiback-alive destroy-lifecycle-alive guest:boot-luns.d* guest:luns.create
# checks: guest:inq-disk.create guest:inq-tape.create guest:mtx-status.create guest:write.create
# checks: guest:read.create.1 guest:readback.create.1 guest:luns.reboot guest:inq-disk.reboot
# checks: guest:inq-tape.reboot guest:mtx-status.reboot guest:read.reboot.1 guest:readback.reboot.1
# checks: guest:write.reboot guest:read.reboot.2 guest:readback.reboot.2 guest:luns.restore
# checks: guest:inq-disk.restore guest:inq-tape.restore guest:mtx-status.restore guest:read.restore.1
# checks: guest:readback.restore.1 guest:read.restore.2 guest:readback.restore.2 guest:write.restore
# checks: guest:read.restore.3 guest:readback.restore.3 guest:luns.migrate guest:inq-disk.migrate
# checks: guest:inq-tape.migrate guest:mtx-status.migrate guest:read.migrate.1
# checks: guest:readback.migrate.1 guest:read.migrate.2 guest:readback.migrate.2 guest:read.migrate.3
# checks: guest:readback.migrate.3 guest:write.migrate guest:read.migrate.4 guest:readback.migrate.4
# checks: bad-create bad-guest-runs bad-guest-read bad-logged bad-vscsictl-list
# checks: bad-vscsictl-list-good bad-xenstore bad-destroy bad-destroy-xenstore-empty
# checks: bad-destroy-record-removed bad-destroy-scsiback-alive bad-destroy-lifecycle-alive
# checks: guest:inq-disk.bad guest:read.bad.1 guest:readback.bad.1 lifecycle-stop
. /xt/dom0/lib.sh
. "$W/storage.env"
G=xt-s6
GB=xt-s6b
CFGDIR=$W/s6-xl          # the service's config dir: this scenario's domains
STATE=$W/s6-state        # the service's records
SAVE=$W/s6.save
BE=/local/domain/0/backend/vscsi
NONCE=$RANDOM$RANDOM     # in the blocks' pattern: no earlier attempt's data can pass
DEAD=                    # domids that must have left nothing
T0=$(up)

if [ -d /sys/module/xen_scsiback ]; then fail kernel-backend-unloaded "xen-scsiback is loaded (run s6 before s2)"; exit 1; fi
command -v vscsi-lifecycle >/dev/null || { fail lifecycle-installed "no vscsi-lifecycle in the payload"; exit 1; }
scsiback_start || { fail scsiback-start; exit 1; }
# A second attempt starts clean: the first one's service, files and logs go.
lifecycle_stop
rm -rf "$CFGDIR" "$STATE" "$SAVE" "$W/s6-xs" "$CONSOLE_DIR"/guest-$G*.log "$CONSOLE_DIR"/guest-$GB*.log \
	/var/log/xen/xl-$G*.log /var/log/xen/xl-$GB*.log
mkdir -p "$CFGDIR" "$STATE" "$W/s6-xs"
lifecycle_start -c "$CFGDIR" -s "$STATE" -t 30 -v || { fail lifecycle-start; exit 1; }
# As its unit runs it: root without any capability, no_new_privs.
sb=$(sandbox_report vscsi-lifecycle "$(lifecycle_pid)")
case "$sb" in
*"CapEff: 0000000000000000"*"NoNewPrivs: 1"*) pass lifecycle-sandbox "$sb" ;;
*) fail lifecycle-sandbox "$sb" ;;
esac

# guest_cfg NAME MODE NDEV VSCSI-ENTRIES: the xl config, in the service's dir.
guest_cfg() {
	cat >"$CFGDIR/$1.cfg" <<EOF
name = "$1"
type = "pv"
kernel = "$XT/domu/vmlinuz"
ramdisk = "$XT/domu/initrd.gz"
extra = "console=hvc0 loglevel=5 rdinit=/init xt=s6 xt_mode=$2 xt_ndev=$3 xt_nonce=$NONCE"
memory = ${XT_GUEST_MEM_S6:-192}
vcpus = 1
on_poweroff = "destroy"
on_crash = "destroy"
on_reboot = "restart"
vscsi = [ $4 ]
EOF
	cat "$CFGDIR/$1.cfg"
}

# The guest's console: its own log, and after a migration the log of
# NAME--incoming (xenconsoled names a log when the domain appears).
glogs() { echo "$(guest_log "$1") $(guest_log "$1--incoming")"; }
# s6_wait NAME REGEX SECONDS: a console line of NAME (extended regex).
s6_wait() {
	local start=$SECONDS f
	while [ $((SECONDS - start)) -lt "$3" ]; do
		for f in $(glogs "$1"); do grep -qaE "$2" "$f" 2>/dev/null && return 0; done
		nap 1
	done
	return 1
}
s6_line() { # NAME SED-EXPR: the last line the expression prints
	local f
	for f in $(glogs "$1"); do [ -f "$f" ] && sed -n "s/\r\$//; $2" "$f"; done | tail -1
}
s6_md5() { s6_line "$1" "s/^XTG-MD5 $2 \([0-9a-f]\{32\}\).*/\1/p"; }
s6_value() { s6_line "$1" "s/^XTG-VALUE $2 //p"; }

# The pattern of block J (the guest's s6_pattern, same program).
pattern_md5() {
	awk -v j="$1" -v n="$NONCE" 'BEGIN { for (i = 0; i < 16384; i++) printf "%-63s\n", "xt-s6 nonce " n " block " j " line " i }' |
		md5sum | cut -d' ' -f1
}
declare -A PAT
for j in 1 2 3 4; do PAT[$j]=$(pattern_md5 $j); done

# data_checks STEP K: the guest wrote block K and read back 1..K-1 as the
# pattern; the backing file holds blocks 1..K.
data_checks() {
	local s=$1 k=$2 j got
	got=$(s6_md5 $G "s6.write.$k")
	[ -n "$got" ] && [ "$got" = "${PAT[$k]}" ] && pass "$s-guest-write" "block $k $got" ||
		fail "$s-guest-write" "block $k: guest md5 '${got:-none}', pattern ${PAT[$k]}"
	for ((j = 1; j < k; j++)); do
		got=$(s6_md5 $G "s6.read.$s.$j")
		# A console line can come garbled under TCG (another line written
		# into it): the guest's own readback check carries the md5 too.
		[ -n "$got" ] || got=$(s6_line $G "s/^XTG-CHECK readback\.$s\.$j ok block $j \([0-9a-f]\{32\}\).*/\1/p")
		[ -n "$got" ] && [ "$got" = "${PAT[$j]}" ] && pass "$s-guest-read-$j" "$got" ||
			fail "$s-guest-read-$j" "block $j: guest md5 '${got:-none}', pattern ${PAT[$j]}"
	done
	for ((j = 1; j <= k; j++)); do
		got=$(md5_of "$DISK_IMG" $((16 + j)) 1)
		[ "$got" = "${PAT[$j]}" ] && pass "$s-backing-$j" "$got" ||
			fail "$s-backing-$j" "block $j of $DISK_IMG: $got, pattern ${PAT[$j]}"
	done
}

# xs_state DOM NLUNS: what xenstore holds is DOM's one vhost (devid 0,
# NLUNS LUNs, backend and LUNs connected, the guest's device/vscsi/0) and
# DOM's /libxl/DOM/vscsi, nothing for any other domid. WHY says what not.
xs_state() {
	local dom=$1 n=$2 d doms lx st
	WHY=
	doms=$(xenstore-list $BE 2>/dev/null | tr '\n' ' ')
	[ "$doms" = "$dom " ] || WHY+="backend/vscsi holds domids '$doms'; "
	d=$(xenstore-list $BE/$dom 2>/dev/null | tr '\n' ' ')
	[ "$d" = "0 " ] || WHY+="vhosts of $dom: '$d'; "
	d=$(xenstore-list $BE/$dom/0/vscsi-devs 2>/dev/null | wc -l)
	[ "$d" = "$n" ] || WHY+="$d LUNs, want $n; "
	st=$(xenstore-read $BE/$dom/0/state 2>/dev/null)
	[ "$st" = 4 ] || WHY+="backend state '$st'; "
	for d in $(xenstore-list $BE/$dom/0/vscsi-devs 2>/dev/null); do
		st=$(xenstore-read $BE/$dom/0/vscsi-devs/$d/state 2>/dev/null)
		[ "$st" = 4 ] || WHY+="$d state '$st'; "
	done
	xenstore-exists /local/domain/$dom/device/vscsi/0 || WHY+="no device/vscsi/0 in the guest's directory; "
	lx=
	for d in $(xenstore-list /libxl 2>/dev/null); do xenstore-exists /libxl/$d/vscsi && lx+="$d "; done
	[ "$lx" = "$dom " ] || WHY+="/libxl/*/vscsi for domids '$lx'; "
	for d in $DEAD; do
		xenstore-exists /libxl/$d && WHY+="/libxl/$d left; "
		xenstore-exists /local/domain/$d && WHY+="/local/domain/$d left; "
	done
	[ -z "$WHY" ]
}
# xs_check NAME DOM NLUNS: xs_state within 20 s (the service clears a dead
# domain's nodes when it sees @releaseDomain), recorded; the tree logged.
xs_check() {
	local i
	for i in $(seq 20); do xs_state "$2" "$3" && break; nap 1; done
	{ echo "== $1 (domain $2, dead: $DEAD)"; xenstore-ls -f $BE; xenstore-ls -f /libxl; } >"$W/s6-xs/$1.txt" 2>&1
	echo "[$(up)] xenstore after $1:"; sed 's/^/    /' "$W/s6-xs/$1.txt"
	if [ -z "$WHY" ]; then pass "$1-xenstore" "backend/vscsi/$2/0 with $3 LUNs alone"
	else fail "$1-xenstore" "$WHY"; fi
}
# xs_empty NAME: no vscsi node of any domain left.
xs_empty() {
	local i d lx left
	for i in $(seq 20); do
		left=$(xenstore-list $BE 2>/dev/null | tr '\n' ' ')
		lx=
		for d in $(xenstore-list /libxl 2>/dev/null); do
			xenstore-exists /libxl/$d/vscsi || xenstore-exists /libxl/$d/vscsi-failed && lx+="$d "
		done
		[ -z "$left$lx" ] && break
		nap 1
	done
	{ echo "== $1 (dead: $DEAD)"; xenstore-ls -f $BE; xenstore-ls -f /libxl; } >"$W/s6-xs/$1.txt" 2>&1
	if [ -z "$left$lx" ]; then pass "$1-xenstore-empty" "nothing under backend/vscsi or /libxl/*/vscsi"
	else fail "$1-xenstore-empty" "backend/vscsi: '$left', /libxl/*/vscsi: '$lx'"; fi
}
# record_gone NAME DOMAIN UUID: the service forgot a destroyed domain's record
# (vscsi-lifecycle(8): removed when the domain is powered off or destroyed;
# the service's last line about it says how it saw the domain end).
record_gone() {
	local how i
	# (the record goes just after the nodes)
	for i in 1 2 3 4 5 6; do [ -e "$STATE/$3.json" ] || break; nap 0.5; done
	how=$(grep -a "domain $2[ -].* its vscsi devices are removed" "$LIFECYCLE_LOG" | tail -1 | sed 's/.*\]: //')
	[ -n "$3" ] && [ ! -e "$STATE/$3.json" ] && pass "$1-record-removed" "$how" ||
		fail "$1-record-removed" "$STATE holds $(ls "$STATE" | tr '\n' ' ')(uuid '$3'); the service's last word: '$how'"
}
uuid_of() { local vm; vm=$(xenstore-read "/local/domain/$1/vm" 2>/dev/null); echo "${vm#/vm/}"; }
alive_checks() { # NAME
	scsiback_pid >/dev/null && pass "$1-scsiback-alive" || fail "$1-scsiback-alive" "scsiback died"
	lifecycle_pid >/dev/null && pass "$1-lifecycle-alive" || fail "$1-lifecycle-alive" "vscsi-lifecycle died"
}
# domid_of NAME OLD SECONDS: NAME's domid once it is not OLD.
domid_of() {
	local start=$SECONDS d
	while [ $((SECONDS - start)) -lt "$3" ]; do
		d=$(timeout -k 2 15 xl domid "$1" 2>/dev/null) && [ -n "$d" ] && [ "$d" != "$2" ] && { echo "$d"; return 0; }
		nap 1
	done
	return 1
}
trigger() { xenstore-write "/local/domain/$1/data/xt-go" "$2"; }
# run_step STEP DOM K: dom0 tells the guest in DOM to run STEP, waits for
# it, checks data and xenstore.
run_step() {
	local s=$1 dom=$2 k=$3 t1
	t1=$(up)
	trigger "$dom" "$s"
	if s6_wait $G "^XTG-STAGE done-$s " 150; then
		pass "$s-guest-step" "$(awk -v a="$t1" -v b="$(up)" 'BEGIN { printf "%.0f s", b - a }')"
	else
		fail "$s-guest-step" "no XTG-STAGE done-$s within 150 s"
	fi
	[ "$(s6_value $G "s6.dom.$s")" = "$dom" ] && pass "$s-guest-domid" "$dom" ||
		fail "$s-guest-domid" "the guest says domain '$(s6_value $G "s6.dom.$s")', xl says $dom"
	[ "$(uuid_of "$dom")" = "$UUID" ] && pass "$s-same-uuid" || fail "$s-same-uuid" "domain $dom has uuid '$(uuid_of "$dom")', not $UUID"
	data_checks "$s" "$k"
	xs_check "$s" "$dom" 3
	STEPS+="$s:$(awk -v a="$STEP_T0" -v b="$(up)" 'BEGIN { printf "%.0f", b - a }')s "
}

ENTRIES="\"$DISK_SG,0:0:0:0\", \"$TAPE_SG,0:0:1:0\", \"$CHG_SG,0:0:2:0\""
guest_cfg $G life 3 "$ENTRIES"
guest_follow $G $(glogs $G)
STEPS=

# ---- 1. xl create
STEP_T0=$(up)
expect create t 120 xl create "$CFGDIR/$G.cfg"
dom=$(domid_of $G "" 30) || { fail create-domid "no domain $G"; exit 1; }
UUID=$(uuid_of "$dom")
say "xl create: domain $dom, uuid $UUID"
if s6_wait $G "^XTG-STAGE booted dom=$dom " 180; then pass create-booted "domain $dom"
else fail create-booted "domain $dom did not boot"; exit 1; fi
run_step create "$dom" 1

# ---- 2. xl reboot: a new domain, same name and uuid
STEP_T0=$(up)
old=$dom
expect reboot t 60 xl reboot $G
dom=$(domid_of $G "$old" 120) || { fail reboot-domid "no new domain after xl reboot"; exit 1; }
DEAD+="$old "
say "xl reboot: domain $old -> $dom"
if s6_wait $G "^XTG-STAGE booted dom=$dom " 180; then pass reboot-booted "domain $dom"
else fail reboot-booted "domain $dom did not boot"; exit 1; fi
run_step reboot "$dom" 2

# ---- 3. xl save + xl restore: the same kernel and process go on
STEP_T0=$(up)
old=$dom
expect save t 180 xl save $G "$SAVE"
ls -l "$SAVE"
DEAD+="$old "
xl list
xs_empty save
[ -e "$STATE/$UUID.json" ] && pass save-record-kept "$UUID.json" || fail save-record-kept "no $UUID.json in $STATE"
expect restore t 180 xl restore "$SAVE"
rm -f "$SAVE"
dom=$(domid_of $G "$old" 30) || { fail restore-domid "no domain after xl restore"; exit 1; }
say "xl save/restore: domain $old -> $dom"
run_step restore "$dom" 3

# ---- 4. migration to localhost
# xl migrate is always live: the sender needs log-dirty mode, which Xen
# gives a PV domain only with shadow paging. Debian's Xen 4.17 is built
# without it (CONFIG_SHADOW_PAGING unset, virt_caps without "shadow"), and
# there xl migrate fails with "Failed to enable logdirty: 95". Then the
# migration runs without the live pre-copy, by xl subcommands doing the
# sender's part of xl migrate (xl_migrate.c:migrate_domain) against xl's
# own receiver: `xl save -p` (the stream a sender sends: the same header,
# config and libxl stream; the domain stays, suspended and paused, as a
# sender's does), `xl migrate-receive` (creates NAME--incoming, paused,
# with the same uuid, and says "ready"), `xl rename` NAME to
# NAME--migratedaway, the GO message, the receiver's report, `xl destroy`
# of the sender's copy.
# fake_sender STREAM: that protocol, the receiver on two fifos.
fake_sender() {
	local stream=$1 rpid to from line rc
	rm -f "$W/mig.in" "$W/mig.out"
	mkfifo "$W/mig.in" "$W/mig.out"
	echo "[$(up)] \$ xl migrate-receive (fed by the sender's steps)"
	timeout -k 5 300 xl migrate-receive <"$W/mig.in" >"$W/mig.out" &
	rpid=$!
	exec {to}>"$W/mig.in" {from}<"$W/mig.out"
	IFS= read -r -t 60 -u $from line
	[ "$line" = "xl migration receiver ready, send binary domain data." ] ||
		{ echo "receiver banner: '$line'"; exec {to}>&- {from}<&-; wait $rpid; return 1; }
	cat "$stream" >&$to
	IFS= read -r -d '' -t 240 -u $from line
	[ "$line" = "domain received, ready to unpause" ] ||
		{ echo "receiver ready message: '$line'"; exec {to}>&- {from}<&-; wait $rpid; return 1; }
	xl list
	echo "backend/vscsi holds: $(xenstore-list $BE | tr '\n' ' ')"
	t 30 xl rename $G $G--migratedaway || { exec {to}>&- {from}<&-; wait $rpid; return 1; }
	printf 'domain is yours, you are cleared to unpause\0' >&$to
	IFS= read -r -d '' -t 60 -u $from line
	rc=$(head -c 1 <&$from | od -An -tu1 | tr -d ' ')
	exec {to}>&- {from}<&-
	wait $rpid
	echo "receiver report: '$line' status '$rc'"
	[ "$line" = "my copy unpause results are as follows" ] && [ "$rc" = 0 ] || return 1
	t 60 xl destroy $G--migratedaway
}
STEP_T0=$(up)
old=$dom
xl info | grep '^virt_caps'
if xl info | grep -q '^virt_caps.*[ :]shadow\b'; then
	# (no ssh: with -s "" xl runs the host argument as the receiver)
	pass migrate-method "live: xl migrate (this Xen has shadow paging)"
	expect migrate t 300 xl migrate -s "" $G "xl migrate-receive"
else
	say "this Xen has no shadow paging (no PV log-dirty, no live xl migrate): migrating without the live pre-copy"
	pass migrate-method "non-live: xl save -p, xl migrate-receive, xl rename, GO, xl destroy (Xen without shadow paging)"
	expect migrate-save t 180 xl save -p $G "$SAVE"
	echo "[$(up)] the sender's copy, saved and paused:"; xl list; xenstore-ls -f $BE
	expect migrate fake_sender "$SAVE"
	rm -f "$SAVE"
fi
dom=$(domid_of $G "$old" 30) || { fail migrate-domid "no domain after the migration"; exit 1; }
DEAD+="$old "
[ "$(xenstore-read /local/domain/$dom/name)" = $G ] && pass migrate-renamed || fail migrate-renamed "domain $dom is '$(xenstore-read /local/domain/$dom/name)'"
say "xl migrate: domain $old -> $dom"
run_step migrate "$dom" 4

# The guest: a new boot after the reboot, the same kernel and process
# after restore and migration.
b1=$(s6_value $G s6.boot.create) b2=$(s6_value $G s6.boot.reboot)
b3=$(s6_value $G s6.boot.restore) b4=$(s6_value $G s6.boot.migrate)
p2=$(s6_value $G s6.pid.reboot) p3=$(s6_value $G s6.pid.restore) p4=$(s6_value $G s6.pid.migrate)
[ -n "$b1" ] && [ -n "$b2" ] && [ "$b1" != "$b2" ] && pass reboot-new-boot || fail reboot-new-boot "boot ids '$b1' '$b2'"
[ -n "$b2" ] && [ "$b2" = "$b3" ] && [ "$b3" = "$b4" ] && [ -n "$p2" ] && [ "$p2" = "$p3" ] && [ "$p3" = "$p4" ] &&
	pass resumed-same-process "boot $b2, pid $p2" ||
	fail resumed-same-process "boot ids '$b2' '$b3' '$b4', pids '$p2' '$p3' '$p4'"

# ---- 5. xl destroy: nothing left
STEP_T0=$(up)
expect destroy t 60 xl destroy $G
DEAD+="$dom "
xs_empty destroy
record_gone destroy $G "$UUID"
alive_checks destroy
stop_follower $G
guest_checks $G
# (guest_checks reads the first console log; the migrated guest's own
# verdicts are in the second)
f=$(guest_log $G--incoming)
if [ -f "$f" ]; then
	sed -n 's/\r$//; s/^XTG-CHECK //p' "$f" | while read -r n verdict detail; do
		if [ "$verdict" = ok ]; then pass "guest:$n" "$detail"; else fail "guest:$n" "$detail"; fi
	done
	guest_crashes "$f" | crash_is_ours && fail "$G--incoming-no-crashes" "$(guest_crashes "$f" | crash_lines_ours | head -3 | tr '\n' '|')"
fi
STEPS+="destroy:$(awk -v a="$STEP_T0" -v b="$(up)" 'BEGIN { printf "%.0f", b - a }')s "

# ---- 6. an entry that cannot be attached: the domain runs without it
STEP_T0=$(up)
BAD=/dev/sg99
[ -e $BAD ] && fail bad-pdev-absent "$BAD exists in dom0"
guest_cfg $GB bad 1 "\"$DISK_SG,0:0:0:0\", \"$BAD,0:0:1:0\""
guest_follow $GB
expect bad-create t 120 xl create "$CFGDIR/$GB.cfg"
dom=$(domid_of $GB "" 30) || { fail bad-domid "no domain $GB"; exit 1; }
BUUID=$(uuid_of "$dom")
say "xl create $GB: domain $dom, uuid $BUUID"
if guest_wait $GB '^XTG-STAGE checked' 180; then pass bad-guest-runs "domain $dom"
else fail bad-guest-runs "domain $dom: the guest did not get through its checks"; fi
got=$(s6_md5 $GB s6.read.bad.1)
[ "$got" = "${PAT[1]}" ] && pass bad-guest-read "block 1 $got" || fail bad-guest-read "block 1: '${got:-none}', pattern ${PAT[1]}"
# The log line: domain, entry, and a cause that names the p-dev.
pre="domain $GB (domid $dom): vscsi entry 2 \"$BAD,0:0:1:0\" not attached: "
line=$(grep -aF "$pre" "$LIFECYCLE_LOG" | tail -1)
cause=${line#*"$pre"}
if [ -n "$line" ] && [[ $cause == *"$BAD"?* ]]; then pass bad-logged "$line"
else fail bad-logged "no line naming domain, entry and cause: '${line:-none}'"; fi
t 30 vscsictl list $GB >"$W/s6-list.out" 2>&1
cat "$W/s6-list.out"
# vscsictl list: the good LUN, and the failed entry with the same cause.
if grep -qF "failed: vscsi entry 2 \"$BAD,0:0:1:0\": $cause" "$W/s6-list.out"; then
	pass bad-vscsictl-list "$(grep -F failed: "$W/s6-list.out" | head -1 | sed 's/^ *//')"
else fail bad-vscsictl-list "no line 'failed: vscsi entry 2 \"$BAD,0:0:1:0\": $cause'"; fi
if grep -qE "^[0-9]+ +0 +4 +0 +$DISK_SG +0:0:0:0 +4\$" "$W/s6-list.out"; then pass bad-vscsictl-list-good "$DISK_SG 0:0:0:0 connected"
else fail bad-vscsictl-list-good "no connected line for $DISK_SG 0:0:0:0"; fi
xs_check bad "$dom" 1
expect bad-destroy t 60 xl destroy $GB
DEAD+="$dom "
xs_empty bad-destroy
record_gone bad-destroy $GB "$BUUID"
alive_checks bad-destroy
stop_follower $GB
guest_checks $GB
STEPS+="bad-entry:$(awk -v a="$STEP_T0" -v b="$(up)" 'BEGIN { printf "%.0f", b - a }')s "

lifecycle_stop && pass lifecycle-stop "SIGTERM" || fail lifecycle-stop "vscsi-lifecycle ignored SIGTERM"
mkdir -p "$W/logs/s6-xl"
cp /var/log/xen/xl-$G*.log /var/log/xen/xl-$GB*.log "$W/logs/s6-xl/" 2>/dev/null
cp -a "$W/s6-xs" "$W/logs/s6-xenstore" 2>/dev/null
grep -E ' (err|ERROR|error)[: ]' "$SCSIBACK_LOG" | tail -20
say "steps: ${STEPS}total $(awk -v a="$T0" -v b="$(up)" 'BEGIN { printf "%.0f", b - a }') s"
exit 0
