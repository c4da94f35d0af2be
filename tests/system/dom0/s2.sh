#!/bin/bash
# Scenario 2: our frontend against the Linux kernel backend. scsiback
# stops, xen-scsiback is loaded and serves two LIO LUNs (fileio on a file,
# iblock on dom0's iSCSI disk "hp"); vscsictl --kernel-backend finds their
# naa.<wwn>:<lun> p-devs from the dom0 paths. A guest without
# xen-scsifront reads and writes them with the vscsi CLI and the shim.
# The checks the scenario must record, whatever their verdict (main.sh
# fails it when one is missing; a glob matches any name, 'a|b' either).
# checks: load-xen-scsiback lio-configured vscsictl-apply guest:kernel-front-absent guest:xen-devices
# checks: guest:vscsi-list guest:vscsi-list-json guest:s2.fileio-inq guest:s2.fileio-readcap
# checks: guest:s2.fileio-tur guest:s2.fileio-read guest:s2.fileio-write guest:s2.fileio-readback
# checks: guest:s2.fileio-readback-md5 guest:s2.fileio-shim-inq guest:s2.fileio-shim-readcap
# checks: guest:s2.fileio-shim-sg_dd-read guest:s2.fileio-shim-sg_dd-write guest:s2.iblock-read
# checks: guest:s2.iblock-shim-inq fileio-read fileio-write fileio-shim-read fileio-shim-write
# checks: iblock-read scsiback-warns-kernel-backend
. /xt/dom0/lib.sh
. "$W/storage.env"
G=xt-s2
T=/sys/kernel/config/target
WWN=naa.5001405aa00000c2
IWWN=naa.5001405bb00000c2

# The scsiback the scenarios before used (if any ran): SIGTERM ends it
# with status 0.
was=$(scsiback_pid)
scsiback_stop TERM
rc=$?
scsiback_pid >/dev/null && { fail scsiback-stopped "scsiback still runs"; exit 1; }
if [ -n "$was" ]; then
	if [ $rc = 0 ]; then pass scsiback-term-exit "pid $was: exit status $SCSIBACK_EXIT"
	else fail scsiback-term-exit "pid $was, SIGTERM: ${SCSIBACK_EXIT:+exit status $SCSIBACK_EXIT}${SCSIBACK_EXIT:-killed after 40 s}"; fi
fi
rm -f /etc/modprobe.d/xt-no-kernel-scsiback.conf
expect load-xen-scsiback modprobe -a target_core_mod target_core_file target_core_iblock xen-scsiback
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
LIO_IMG=$STORE/lio.img
# A second attempt (main.sh reruns a scenario after a TCG crash) finds the
# first one's LIO objects: they go, in the reverse order of their making.
lio_teardown() {
	local p
	for p in $T/xen-pvscsi/$WWN/tpgt_1/lun/lun_*/xen_port*; do [ -L "$p" ] && rm -f "$p"; done
	for p in $T/xen-pvscsi/$WWN/tpgt_1/lun/lun_* $T/xen-pvscsi/$WWN/tpgt_1 $T/xen-pvscsi/$WWN \
		$T/core/fileio_0/lio0 $T/core/iblock_0/hp $T/core/fileio_0 $T/core/iblock_0; do
		[ -d "$p" ] && rmdir "$p"
	done
	return 0
}
if [ -d $T/xen-pvscsi/$WWN ] || [ -d $T/core/fileio_0/lio0 ]; then
	say "LIO objects of an earlier attempt: removing them"
	lio_teardown
fi
set -e
mkdir -p $T/core/fileio_0/lio0
echo "fd_dev_name=$LIO_IMG,fd_dev_size=$((32 << 20))" >$T/core/fileio_0/lio0/control
# No udev_path for this one (targetcli would write it): vscsictl must
# find the file from the kernel's own info attribute.
echo 1 >$T/core/fileio_0/lio0/enable
cat $T/core/fileio_0/lio0/info
mkdir -p $T/core/iblock_0/hp
echo "udev_path=$HP_SD" >$T/core/iblock_0/hp/control
# udev_path as targetcli writes it
echo "$HP_SD" >$T/core/iblock_0/hp/udev_path
echo 1 >$T/core/iblock_0/hp/enable
mkdir -p $T/xen-pvscsi/$WWN/tpgt_1/lun/lun_0 $T/xen-pvscsi/$WWN/tpgt_1/lun/lun_1
ln -s $T/core/fileio_0/lio0 $T/xen-pvscsi/$WWN/tpgt_1/lun/lun_0/xen_port0
ln -s $T/core/iblock_0/hp $T/xen-pvscsi/$WWN/tpgt_1/lun/lun_1/xen_port1
echo $IWWN >$T/xen-pvscsi/$WWN/tpgt_1/nexus
set +e
ls -lR $T/xen-pvscsi | head -40
pass lio-configured "$WWN: lun_0 fileio $LIO_IMG, lun_1 iblock $HP_SD"

dom=$(guest_create $G 0 s2 xt_front=user) || { fail guest-create; exit 1; }
cat >"$W/$G.vscsi.cfg" <<EOC
vscsi = [ "$LIO_IMG,0:0:0:0", "$HP_SD,0:0:1:0" ]
EOC
expect vscsictl-apply t 120 vscsictl --kernel-backend apply $G "$W/$G.vscsi.cfg"
xenstore-ls -f /local/domain/0/backend/vscsi/$dom
guest_unpause $G
guest_finish $G 200
md5_check fileio-read $G s2.fileio.read.0-16 "$(md5_of "$LIO_IMG" 0 16)"
md5_check fileio-write $G s2.fileio.write.16-8 "$(md5_of "$LIO_IMG" 16 8)"
md5_check fileio-shim-read $G s2.fileio.shim.read.0-16 "$(md5_of "$LIO_IMG" 0 16)"
md5_check fileio-shim-write $G s2.fileio.shim.write.24-8 "$(md5_of "$LIO_IMG" 24 8)"
md5_check iblock-read $G s2.iblock.read.0-16 "$(md5_of "$HP_IMG" 0 16)"
dmesg | grep -iE 'xen-pvscsi|scsiback|xen_scsiback' | tail -20
guest_destroy $G

# With xen-scsiback loaded, both backends would claim every new vhost:
# scsiback must say so when it starts (issue 6).
mark=$(wc -l <"$SCSIBACK_LOG")
scsiback_start
sleep 3
if tail -n +$((mark + 1)) "$SCSIBACK_LOG" | grep -qiE 'xen-scsiback|xen_scsiback|kernel.*backend'; then
	pass scsiback-warns-kernel-backend "$(tail -n +$((mark + 1)) "$SCSIBACK_LOG" | grep -iE 'xen-scsiback|xen_scsiback|kernel.*backend' | head -1)"
else
	fail scsiback-warns-kernel-backend "scsiback started beside a loaded xen-scsiback without a word"
fi
scsiback_stop TERM
exit 0
