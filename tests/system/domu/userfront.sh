# Shared by scenarios 2 and 3: checks through our userspace frontend
# (libvscsifront: the vscsi CLI, and ld_vscsi.so under unmodified sg3_utils)
# on a disk LUN at H:C:T:L $1 whose region [0, 16 MiB) dom0 compares and
# whose [$2, $2 + 16 MiB) MiB region the guest may write. Labels start
# with $3.
userfront_disk() {
	_a=$1 _w=$2 _p=$3
	ckout "$_p-inq" 'PDT=0' vscsi inq -d "$_a"
	if ckout "$_p-readcap" 'Logical block length=512' vscsi readcap -d "$_a"; then
		echo "XTG-VALUE $_p.blocks $(sed -n 's/.*Number of logical blocks=\([0-9]*\).*/\1/p' /tmp/ck.out)"
	fi
	ck "$_p-tur" vscsi tur -d "$_a"
	ck "$_p-read" vscsi read -d "$_a" --lba 0 -n 32768 -o /tmp/u1 && report_md5 "$_p.read.0-16" /tmp/u1
	random_file /tmp/u2 8
	ck "$_p-write" vscsi write -d "$_a" --lba $((_w * 2048)) -i /tmp/u2 && report_md5 "$_p.write.$_w-8" /tmp/u2
	rm -f /tmp/u3
	ck "$_p-readback" vscsi read -d "$_a" --lba $((_w * 2048)) -n 16384 -o /tmp/u3
	if [ -s /tmp/u3 ] && [ "$(md5 /tmp/u3)" = "$(md5 /tmp/u2)" ]; then ok "$_p-readback-md5"; else bad "$_p-readback-md5"; fi
	# unmodified sg3_utils through the shim, commands as large as the
	# backend's feature-sg-grant allows, up to 1 MiB (scsiback: 4096
	# pages, 16 MiB, more than the default pool holds; xen-scsiback: 128,
	# 512 KiB)
	_be=$(xenstore-read device/vscsi/0/backend)
	_g=$(xenstore-read "$_be/feature-sg-grant")
	_bpt=$((_g * 8))
	[ "$_bpt" -gt 2048 ] && _bpt=2048
	echo "XTG-VALUE $_p.feature-sg-grant $_g (sg_dd bpt=$_bpt)"
	_m="--map /dev/sg100=$_a"
	ckout "$_p-shim-inq" 'PDT=0' vscsi run $_m -- sg_inq /dev/sg100
	ckout "$_p-shim-readcap" 'Logical block length=512' vscsi run $_m -- sg_readcap /dev/sg100
	ck "$_p-shim-sg_dd-read" vscsi run $_m -- sg_dd if=/dev/sg100 of=/tmp/u4 bs=512 bpt=$_bpt count=32768 &&
		report_md5 "$_p.shim.read.0-16" /tmp/u4
	random_file /tmp/u5 8
	ck "$_p-shim-sg_dd-write" vscsi run $_m -- sg_dd if=/tmp/u5 of=/dev/sg100 bs=512 bpt=$_bpt seek=$(((_w + 8) * 2048)) &&
		report_md5 "$_p.shim.write.$((_w + 8))-8" /tmp/u5
	rm -f /tmp/u1 /tmp/u2 /tmp/u3 /tmp/u4 /tmp/u5
}

userfront_start() {
	if [ -d /sys/module/xen_scsifront ]; then bad kernel-front-absent "xen-scsifront is loaded"
	else ok kernel-front-absent; fi
	[ -c /dev/xen/gntalloc ] && [ -c /dev/xen/evtchn ] && [ -c /dev/xen/xenbus ] && ok xen-devices ||
		bad xen-devices "$(ls /dev/xen 2>&1 | tr '\n' ' ')"
	ck vscsi-list vscsi list
	ck vscsi-list-json vscsi list --json
}
