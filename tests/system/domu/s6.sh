# Scenario 6, guest side: PV SCSI devices that follow the domain through
# xl's lifecycle. dom0 only runs xl commands; vscsi-lifecycle gives every
# new domain (create, reboot, restore, migrate) its LUNs before it runs.
#
# xt_mode=life  At every boot the LUNs (disk 0:0:0:0, tape 0:0:1:0, changer
#               0:0:2:0) must be there at once: no rescan, no waiting beyond
#               the kernel's own (insmod xen-scsifront waits for its devices
#               to connect). Then the guest waits for dom0's trigger in its
#               xenstore node data/xt-go (create, reboot, restore, migrate,
#               end) and for each new value runs step STEP K: checks the
#               LUNs, reads back the 1 MiB blocks 1..K-1 that the earlier
#               steps wrote (at 16+J MiB of the disk), writes block K, and
#               reports XTG-MD5 s6.read.STEP.J / s6.write.K, its boot id and
#               its pid (a restored or migrated guest is the same kernel and
#               the same process), then XTG-STAGE done-STEP. The same loop
#               goes on across save/restore and migration; a reboot starts it
#               again.
# xt_mode=bad   One LUN (the disk, 0:0:0:0; the config's second entry names
#               a p-dev that does not exist): checks it at once, reads block
#               1, then waits to be destroyed.
# Block J is a pattern dom0 computes too (s6_pattern, same awk program).
# xl reboot needs nothing of us: the kernel's orderly_reboot() finds no
# /sbin/reboot in this initramfs and restarts the domain itself ("Failed to
# start orderly reboot: forcing the issue"); a poweroff, no trigger or the
# trigger "end" fall through to /init's XTG-END and poweroff.

s6_pattern() { # J FILE: 1 MiB, 16384 lines of 64 bytes
	awk -v j="$1" -v n="${XT_NONCE:-0}" 'BEGIN { for (i = 0; i < 16384; i++) printf "%-63s\n", "xt-s6 nonce " n " block " j " line " i }' >"$2"
}

MYDOM=$(xenstore-read domid 2>/dev/null)
BOOT_ID=$(cat /proc/sys/kernel/random/boot_id)

lun_list() {
	for _d in /sys/class/scsi_device/*; do
		[ -d "$_d" ] || continue
		printf '%s:type=%s ' "$(basename "$_d")" "$(cat "$_d/device/type")"
	done
	echo "sg=$(nsg)"
}
# 0 when exactly the expected LUNs are there: T:TYPE pairs (v-dev 0:0:T:0).
luns_there() {
	[ "$(nsg)" -eq "$XT_NDEV" ] || return 1
	for _x in "$@"; do
		_d=$(sdev_of "${_x%:*}") || return 1
		[ "$(cat "$_d/device/type")" = "${_x#*:}" ] || return 1
	done
	return 0
}
LUNS="0:0 1:1 2:8"
[ "${XT_MODE:-life}" = bad ] && LUNS="0:0"

# The check at boot: before anything waits.
if luns_there $LUNS; then ok "boot-luns.d$MYDOM" "$(lun_list) at uptime $(uptime_s) s"
else bad "boot-luns.d$MYDOM" "want $LUNS, have $(lun_list) at uptime $(uptime_s) s"; fi
for _d in /sys/class/scsi_device/*; do
	[ -d "$_d" ] || continue
	echo "  device $(basename "$_d") type=$(cat "$_d/device/type") $(cat "$_d/device/vendor" "$_d/device/model" | tr '\n' ' ') sg=$(ls "$_d/device/scsi_generic" 2>/dev/null) block=$(ls "$_d/device/block" 2>/dev/null)"
done
stage "booted dom=$MYDOM"

# readback STEP J: block J as the disk has it now, against the pattern.
readback() {
	rm -f /tmp/rb
	if ck "read.$1.$2" dd if="$DB" of=/tmp/rb bs=1M skip=$((16 + $2)) count=1 iflag=direct; then
		report_md5 "s6.read.$1.$2" /tmp/rb
		s6_pattern "$2" /tmp/pat
		if [ "$(md5 /tmp/rb)" = "$(md5 /tmp/pat)" ]; then ok "readback.$1.$2" "block $2 $(md5 /tmp/rb)"
		else bad "readback.$1.$2" "block $2 reads $(md5 /tmp/rb), wrote $(md5 /tmp/pat)"; fi
	fi
}

# step STEP K
step() {
	_s=$1 _k=$2
	echo "XTG-NOTE step $_s (block $_k) in domain $(xenstore-read domid 2>/dev/null), pid $$, uptime $(uptime_s)"
	echo "XTG-VALUE s6.boot.$_s $BOOT_ID"
	echo "XTG-VALUE s6.pid.$_s $$"
	echo "XTG-VALUE s6.dom.$_s $(xenstore-read domid 2>/dev/null)"
	if luns_there $LUNS; then ok "luns.$_s" "$(lun_list)"; else bad "luns.$_s" "want $LUNS, have $(lun_list)"; fi
	D=$(sg_of 0) DB=$(blk_of 0) T=$(sg_of 1) C=$(sg_of 2)
	ckout "inq-disk.$_s" 'PDT=0' sg_inq "$D"
	ckout "inq-tape.$_s" 'PDT=1' sg_inq "$T"
	ckout "mtx-status.$_s" 'Storage Element 1' mtx -f "$C" status
	_j=1
	while [ $_j -lt "$_k" ]; do readback "$_s" $_j; _j=$((_j + 1)); done
	s6_pattern "$_k" /tmp/w
	ck "write.$_s" dd if=/tmp/w of="$DB" bs=1M seek=$((16 + _k)) oflag=direct conv=fsync && report_md5 "s6.write.$_k" /tmp/w
	readback "$_s" "$_k"
	stage "done-$_s"
}

case ${XT_MODE:-life} in
life)
	last=
	i=0
	# dom0 drives the steps; 20 minutes without a new one end the loop.
	while [ $i -lt 2400 ]; do
		go=$(xenstore-read data/xt-go 2>/dev/null)
		if [ -n "$go" ] && [ "$go" != "$last" ]; then
			last=$go
			case $go in
			create) step create 1 ;;
			reboot) step reboot 2 ;;
			restore) step restore 3 ;;
			migrate) step migrate 4 ;;
			end) break ;;
			*) echo "XTG-NOTE unknown trigger '$go'" ;;
			esac
		fi
		sleep 0.5
		i=$((i + 1))
	done
	;;
bad)
	DB=$(blk_of 0)
	ckout "inq-disk.bad" 'PDT=0' sg_inq "$(sg_of 0)"
	readback bad 1
	stage checked
	i=0
	while [ $i -lt 600 ] && [ "$(xenstore-read data/xt-go 2>/dev/null)" != end ]; do sleep 0.5; i=$((i + 1)); done
	;;
esac
