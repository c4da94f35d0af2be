#!/usr/bin/env bash
# make demo: the whole stack on one Linux host, in the simulator.
#   xensimd (a simulated Xen) + tgtd (disk, tape drive, media changer over
#   iSCSI on 127.0.0.1) + scsiback in dom0 + a guest domain whose LUNs are
#   attached with vscsictl; then, inside the guest, real tools through the
#   frontend: vscsi list, sg_inq, sg_readcap, data written and read back
#   with a checksum, two tape blocks and a filemark, mtx moving a cartridge;
#   then a second guest built from an xl domain config with a vscsi line,
#   whose LUNs vscsi-lifecycle gives it on create, reboot and restore.
# Everything runs in a private directory on free ports and is stopped by
# PID at the end, also when a step fails.
#   demo.sh BUILD_DIR
set -u
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/vscsi-demo-XXXXXX)
export XENSIM_RUNDIR=$work/xensim
xensim=$build/tools/xensim/xensim
vscsictl=$build/tools/vscsictl/vscsictl
vscsi=$build/scsifront/vscsi
lab=$src/tests/support/tgtd-lab.sh
lifecycle=$build/tools/vscsi-lifecycle/vscsi-lifecycle
sbpid=
lcpid=
step_no=0

cleanup() {
	local rc=$?
	[ -n "$lcpid" ] && kill "$lcpid" 2>/dev/null
	[ -n "$lcpid" ] && wait "$lcpid" 2>/dev/null
	[ -n "$sbpid" ] && kill "$sbpid" 2>/dev/null
	[ -n "$sbpid" ] && wait "$sbpid" 2>/dev/null
	"$xensim" stop >/dev/null 2>&1
	bash "$lab" stop "$work/tgt" >/dev/null 2>&1
	if [ $rc -ne 0 ]; then
		echo
		echo "demo FAILED (exit $rc). Logs kept in $work:"
		echo "  scsiback.log, lifecycle.log, xensim/xensimd.log, tgt/tgtd.log"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { step_no=$((step_no + 1)); printf '\n[%d] %s\n' "$step_no" "$*"; }
show() { sed 's/^/    /'; }
fail() { echo "    !! $*"; exit 1; }
# Runs a command inside the guest; prints it and its output.
guest() { echo "    guest1\$ $*"; "$xensim" exec guest1 -- "$@" 2>&1 | show; return "${PIPESTATUS[0]}"; }
# Same, through the sg shim: /dev/sg100.. are the guest's LUNs.
guest_sg() { echo "    guest1\$ $*"; "$xensim" exec guest1 -- "$vscsi" run --map /dev/sg100=0:0:0:0 \
	--map /dev/sg101=0:0:1:0 --map /dev/sg102=0:0:2:0 --map /dev/sg103=0:0:2:1 -- "$@" 2>&1 | show
	return "${PIPESTATUS[0]}"; }

echo "vscsi demo — a userspace Xen PV SCSI stack, end to end (work dir $work)"

step "start the simulated Xen and create a guest"
"$xensim" start | show || fail "xensim start"
domid=$("$xensim" create-domain --name guest1 --memory 512) || fail "create-domain"
echo "    guest1 is domain $domid"

step "start tgtd: a 64 MiB disk, a tape drive with media, a library (2 drives + changer)"
bash "$lab" start "$work/tgt" >"$work/lab.out" 2>&1 || { cat "$work/lab.out"; fail "tgtd"; }
. "$work/tgt/tgtd.env"
echo "    tgtd pid $TGTD_PID on 127.0.0.1:$TGTD_PORT"
echo "    disk    $DISK_URL"
echo "    tape    $TAPE_URL"
echo "    changer $CHANGER_URL (drive 1: $VTL_DRIVE1_URL)"

step "start scsiback in dom0"
mkdir -p "$work/scsiback-state"
"$xensim" exec 0 -- "$build/scsiback/scsiback" --state-dir "$work/scsiback-state" \
	>"$work/scsiback.log" 2>&1 &
sbpid=$!
sleep 0.5
kill -0 "$sbpid" 2>/dev/null || { cat "$work/scsiback.log"; fail "scsiback exited"; }
echo "    scsiback pid $sbpid serving /local/domain/0/backend/vscsi"

step "attach the three devices to guest1 with vscsictl (vhost 0)"
for a in "$DISK_URL 0:0:0:0" "$TAPE_URL 0:0:1:0" "$VTL_DRIVE1_URL 0:0:2:0" "$CHANGER_URL 0:0:2:1"; do
	set -- $a
	echo "    dom0# vscsictl attach guest1 $1 $2"
	"$xensim" exec 0 -- "$vscsictl" attach guest1 "$1" "$2" 2>&1 | show
	[ "${PIPESTATUS[0]}" -eq 0 ] || fail "attach $2"
done
"$xensim" exec 0 -- "$vscsictl" list guest1 2>&1 | show

step "in the guest: the virtual HBA and its LUNs"
guest "$vscsi" list || fail "vscsi list"

step "sg_inq and sg_readcap on the disk (unmodified sg3_utils through ld_vscsi.so)"
guest_sg sg_inq /dev/sg100 || fail "sg_inq"
guest_sg sg_readcap /dev/sg100 || fail "sg_readcap"

step "write 1 MiB of random data to the disk and read it back"
head -c 1048576 /dev/urandom >"$work/data.in"
guest_sg sg_dd if="$work/data.in" of=/dev/sg100 bs=512 count=2048 seek=8192 || fail "sg_dd write"
guest_sg sg_dd if=/dev/sg100 of="$work/data.out" bs=512 count=2048 skip=8192 || fail "sg_dd read"
want=$(sha256sum <"$work/data.in" | cut -c1-16)
got=$(sha256sum <"$work/data.out" | cut -c1-16)
echo "    sha256 written $want, read back $got"
[ "$want" = "$got" ] || fail "data read back differs"

step "tape: write two blocks and a filemark, rewind, read them back"
printf 'first block of the vscsi demo\n' >"$work/blk1"
printf 'second block, a little longer than the first one\n' >"$work/blk2"
n1=$(stat -c %s "$work/blk1"); n2=$(stat -c %s "$work/blk2")
hex3() { printf '%02x %02x %02x' $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
guest_sg sg_raw /dev/sg101 01 00 00 00 00 00 || fail "REWIND"
guest_sg sg_raw -s "$n1" -i "$work/blk1" /dev/sg101 0a 00 $(hex3 "$n1") 00 || fail "WRITE(6) block 1"
guest_sg sg_raw -s "$n2" -i "$work/blk2" /dev/sg101 0a 00 $(hex3 "$n2") 00 || fail "WRITE(6) block 2"
guest_sg sg_raw /dev/sg101 10 00 00 00 01 00 || fail "WRITE FILEMARKS"
guest_sg sg_raw /dev/sg101 01 00 00 00 00 00 || fail "REWIND"
guest_sg sg_raw -r "$n1" -o "$work/rd1" /dev/sg101 08 00 $(hex3 "$n1") 00 || fail "READ(6) block 1"
guest_sg sg_raw -r "$n2" -o "$work/rd2" /dev/sg101 08 00 $(hex3 "$n2") 00 || fail "READ(6) block 2"
cmp -s "$work/blk1" "$work/rd1" && cmp -s "$work/blk2" "$work/rd2" || fail "tape blocks differ"
echo "    read back: \"$(cat "$work/rd1")\" / \"$(cat "$work/rd2")\""
echo "    next READ hits the filemark, as the drive reports it:"
guest_sg sg_raw -r 512 -o "$work/fm" /dev/sg101 08 00 00 02 00 00
true

step "media changer: mtx status, load slot 1 into drive 0, status, unload"
guest_sg mtx -f /dev/sg103 status || fail "mtx status"
guest_sg mtx -f /dev/sg103 load 1 0 || fail "mtx load"
guest_sg sg_turs /dev/sg102 && echo "    drive 0 is ready with the cartridge loaded"
guest_sg mtx -f /dev/sg103 status | head -4
guest_sg mtx -f /dev/sg103 unload 1 0 || fail "mtx unload"

step "detach the disk and the tape drive while the guest stays up (backup1 gets them next)"
echo "    dom0# vscsictl detach guest1 0:0:1:0; vscsictl detach guest1 0:0:0:0"
"$xensim" exec 0 -- "$vscsictl" detach guest1 0:0:1:0 2>&1 | show
"$xensim" exec 0 -- "$vscsictl" detach guest1 0:0:0:0 2>&1 | show
guest "$vscsi" list
# A device goes to one guest at a time (vscsictl(8), ONE DEVICE, ONE GUEST):
# while guest1 had the disk, backup1 would have been refused it.

step "start vscsi-lifecycle in dom0: LUNs from the guests' xl configs, at every start"
mkdir -p "$work/xen" "$work/records"
"$xensim" exec 0 -- "$lifecycle" --config-dir "$work/xen" --state-dir "$work/records" \
	>"$work/lifecycle.log" 2>&1 &
lcpid=$!
sleep 0.3
kill -0 "$lcpid" 2>/dev/null || { cat "$work/lifecycle.log"; fail "vscsi-lifecycle exited"; }
printf 'name   = "backup1"\nmemory = 128\nvscsi  = [ "%s,0:0:0:0", "%s,0:0:1:0" ]\n' \
	"$DISK_URL" "$TAPE_URL" >"$work/xen/backup1.cfg"
sed 's/^/    /' "$work/xen/backup1.cfg"
# The simulated guest's init lists its LUNs the moment it first runs.
init=(/bin/sh -c '"$0" list' "$vscsi")
# Shows what domain $1's init printed; fails unless it found the tape.
console() {
	local log=$work/xensim/console/$1.log
	for _ in $(seq 100); do grep -qs "0:0:1:0" "$log" && break; sleep 0.1; done
	sed 's/^/    backup1 init| /' "$log"
	grep -q "0:0:1:0" "$log"
}

step "xl create (simulated): backup1's init finds its disk and tape drive at once"
dom=$("$xensim" create "$work/xen/backup1.cfg" -- "${init[@]}") || fail "create backup1"
echo "    backup1 is domain $dom"
console "$dom" || fail "backup1 did not find its LUNs"
grep "domain backup1" "$work/lifecycle.log" | sed 's/^[0-9-]* [0-9:.]* /    /'

step "xl reboot (simulated): a new domain, the same LUNs"
dom=$("$xensim" reboot backup1) || fail "reboot backup1"
echo "    backup1 is now domain $dom"
console "$dom" || fail "backup1 lost its LUNs on reboot"

step "xl save + xl restore (simulated): the LUNs are there when the guest resumes"
"$xensim" save backup1 "$work/backup1.save" || fail "save backup1"
dom=$("$xensim" restore "$work/backup1.save") || fail "restore backup1"
echo "    backup1 is now domain $dom"
console "$dom" || fail "backup1 lost its LUNs on restore"

step "xl shutdown (simulated): nothing of backup1 is left"
"$xensim" shutdown backup1 || fail "shutdown backup1"
for _ in $(seq 50); do
	"$xensim" exec 0 -- xenstore-exists "/local/domain/0/backend/vscsi/$dom" || break
	sleep 0.1
done
"$xensim" exec 0 -- xenstore-exists "/local/domain/0/backend/vscsi/$dom" && fail "backend of $dom left"
tail -1 "$work/lifecycle.log" | sed 's/^[0-9-]* [0-9:.]* /    /'

echo
echo "demo OK: guest1 used a disk, a tape drive and a media changer through vscsi;"
echo "         backup1 kept its LUNs through create, reboot, save and restore"
