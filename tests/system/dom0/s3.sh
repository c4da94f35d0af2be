#!/bin/bash
# Scenario 3: ours <-> ours under real Xen. A guest without xen-scsifront
# runs our frontend (the vscsi CLI; sg3_utils, mtx, tapeinfo, iscsi-test-cu
# under ld_vscsi.so) against our scsiback: what the simulator tests run.
# The checks the scenario must record, whatever their verdict (main.sh
# fails it when one is missing; a glob matches any name, 'a|b' either).
# checks: vscsictl-apply guest:kernel-front-absent guest:xen-devices guest:vscsi-list
# checks: guest:vscsi-list-json guest:s3.disk-inq guest:s3.disk-readcap guest:s3.disk-tur
# checks: guest:s3.disk-read guest:s3.disk-write guest:s3.disk-readback guest:s3.disk-readback-md5
# checks: guest:s3.disk-shim-inq guest:s3.disk-shim-readcap guest:s3.disk-shim-sg_dd-read
# checks: guest:s3.disk-shim-sg_dd-write guest:shim-mtx-status guest:shim-mtx-load
# checks: guest:shim-tapeinfo guest:shim-tape-rewind guest:shim-tape-write guest:shim-tape-weof
# checks: guest:shim-tape-rewind-2 guest:shim-tape-read guest:shim-tape-data guest:shim-tape-rewind-3
# checks: guest:shim-mtx-unload guest:shim-mtx-status-2 guest:cu-ran disk-read disk-write shim-read
# checks: shim-write cu-same-outcomes scsiback-alive persistent-grants grants-unmapped
. /xt/dom0/lib.sh
. "$W/storage.env"
G=xt-s3
scsiback_start || { fail scsiback-start; exit 1; }
base_maps=$(scsiback_gntmaps)
dom=$(guest_create $G 0 s3 xt_front=user) || { fail guest-create; exit 1; }
cat >"$W/$G.vscsi.cfg" <<EOC
vscsi = [ "$DISK_SG,0:0:0:0", "$TAPE_HCTL,0:0:1:0", "$CHG_SG,0:0:2:0", "$CU_SG,0:0:3:0" ]
EOC
expect vscsictl-apply t 120 vscsictl apply $G "$W/$G.vscsi.cfg"
guest_unpause $G
guest_finish $G 300
md5_check disk-read $G s3.disk.read.0-16 "$(md5_of "$DISK_IMG" 0 16)"
md5_check disk-write $G s3.disk.write.48-8 "$(md5_of "$DISK_IMG" 48 8)"
md5_check shim-read $G s3.disk.shim.read.0-16 "$(md5_of "$DISK_IMG" 0 16)"
md5_check shim-write $G s3.disk.shim.write.56-8 "$(md5_of "$DISK_IMG" 56 8)"
sed -n 's/\r$//; s/^XTG-CU //p' "$(guest_log $G)" >"$W/s3-cu-guest.out"
say "guest: $(guest_value $G cu.counts) (status $(guest_value $G cu.rc) s)"
if [ ! -s "$W/cu-dom0.out" ]; then
	sg_turs "$CU_SG" >/dev/null 2>&1
	t 900 iscsi-test-cu -d --test="$(cu_tests)" "$CU_SG" >"$W/logs/s3-cu-dom0.log" 2>&1
	bash "$XT/dom0/testcu-outcomes.sh" "$W/logs/s3-cu-dom0.log" >"$W/cu-dom0.out"
fi
if [ ! -s "$W/s3-cu-guest.out" ]; then
	fail cu-same-outcomes "no iscsi-test-cu outcomes from the guest"
elif diff -u "$W/cu-dom0.out" "$W/s3-cu-guest.out" >"$W/logs/s3-cu.diff"; then
	pass cu-same-outcomes "$(wc -l <"$W/s3-cu-guest.out") tests, $(guest_value $G cu.counts)"
else
	fail cu-same-outcomes "$(grep -c '^[-+][A-Z]' "$W/logs/s3-cu.diff") lines differ: $(grep '^[-+][A-Z]' "$W/logs/s3-cu.diff" | head -12 | tr '\n' ' ')"
	cat "$W/logs/s3-cu.diff"
fi
# libvscsifront offers persistent grants: scsiback mapped the guest's pool
# pages (docs/protocol.md) and let them go with each ring.
n=$(grep -c "connected to domain $dom (.*, persistent grants)" "$SCSIBACK_LOG")
[ "$n" -gt 0 ] && pass persistent-grants "$n rings" ||
	fail persistent-grants "no ring of domain $dom with persistent grants in scsiback's log"
[ "$(scsiback_gntmaps)" = "$base_maps" ] && pass grants-unmapped ||
	fail grants-unmapped "$(scsiback_gntmaps) grant maps, $base_maps before the guest"
scsiback_pid >/dev/null && pass scsiback-alive || fail scsiback-alive "scsiback died"
exit 0
