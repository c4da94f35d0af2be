# Scenario 1, guest side: the stock xen-scsifront over our scsiback.
# Targets (v-dev 0:0:T:0): 0 disk (sg), 1 tape (sg), 2 changer (sg),
# 3 disk over libiscsi (iscsi://), 4 the disk dom0 hot-adds while we read.

wait_devices
D=$(sg_of 0) DB=$(blk_of 0) T=$(sg_of 1) C=$(sg_of 2) L=$(sg_of 3) LB=$(blk_of 3)
echo "XTG-NOTE disk=$D,$DB tape=$T changer=$C iscsi=$L,$LB"

# ---- identification: every LUN answers as the host device it is
for x in "disk $D PDT=0" "tape $T PDT=1" "changer $C PDT=8" "iscsi $L PDT=0"; do
	set -- $x
	ckout "inq-$1" "$3" sg_inq "$2"
	[ "$1" = tape ] && continue
	sg_turs "$2" >/dev/null 2>&1   # the first one may report a unit attention
	ck "tur-$1" sg_turs "$2"
done
# The empty drive says NOT READY (sg_turs exit status 2): sense data passes.
sg_turs "$T" >/dev/null 2>&1
sg_turs "$T" >/tmp/ck.out 2>&1
rc=$?
if [ $rc -eq 2 ]; then ok tur-tape-no-medium; else bad tur-tape-no-medium "sg_turs rc=$rc, want 2 (not ready)"; fi
ckout inq-disk-vendor 'Vendor identification: IET' sg_inq "$D"
ckout inq-iscsi-serial 'Unit serial number' sg_inq -p 0x80 "$L"
for x in "disk $D" "iscsi $L"; do
	set -- $x
	if ckout "readcap-$1" 'Logical block length=512' sg_readcap "$2"; then
		echo "XTG-VALUE $1.blocks $(sed -n 's/.*Number of logical blocks=\([0-9]*\).*/\1/p' /tmp/ck.out)"
	fi
done
# REPORT LUNS on a virtual target lists its virtual LUNs: just LUN 0 here.
ckout luns 'Lun list length = 8 ' sg_luns "$D"

# ---- disk: 1 MiB dd transfers through the block layer (split by the
# block layer to what the HBA takes), and the largest single command the
# guest's HBA accepts through sg.
MAXKB=$(cat "/sys/block/${DB#/dev/}/queue/max_hw_sectors_kb")
BPT=$((MAXKB * 2))
echo "XTG-VALUE max_hw_sectors_kb $MAXKB"
echo "XTG-NOTE largest command through sg: $MAXKB KiB ($BPT blocks)"
ck disk-read-blk dd if="$DB" of=/tmp/r1 bs=1M count=16 iflag=direct && report_md5 disk.read.0-16 /tmp/r1
ck disk-read-sg sg_dd if="$D" of=/tmp/r2 bs=512 bpt=$BPT count=32768 && report_md5 disk.read.0-16.sg /tmp/r2
random_file /tmp/w1 8
random_file /tmp/w2 8
ck disk-write-sg sg_dd if=/tmp/w1 of="$D" bs=512 bpt=$BPT seek=65536 && report_md5 disk.write.32-40 /tmp/w1
ck disk-write-blk dd if=/tmp/w2 of="$DB" bs=1M seek=40 oflag=direct conv=fsync && report_md5 disk.write.40-48 /tmp/w2
cat /tmp/w1 /tmp/w2 >/tmp/w12
ck disk-readback sg_dd if="$D" of=/tmp/rb bs=512 bpt=$BPT skip=65536 count=32768
if [ -s /tmp/rb ] && [ "$(md5 /tmp/rb)" = "$(md5 /tmp/w12)" ]; then ok disk-readback-md5; else bad disk-readback-md5; fi
rm -f /tmp/r2 /tmp/w1 /tmp/w2 /tmp/w12 /tmp/rb

# ---- the iscsi:// LUN (libiscsi in scsiback, no kernel initiator)
ck iscsi-read-blk dd if="$LB" of=/tmp/l1 bs=1M count=8 iflag=direct && report_md5 lib.read.0-8 /tmp/l1
ck iscsi-read-sg sg_dd if="$L" of=/tmp/l2 bs=512 bpt=$BPT count=16384 && report_md5 lib.read.0-8.sg /tmp/l2
random_file /tmp/l3 4
ck iscsi-write-sg sg_dd if=/tmp/l3 of="$L" bs=512 bpt=$BPT seek=32768 && report_md5 lib.write.16-20 /tmp/l3
rm -f /tmp/l1 /tmp/l2 /tmp/l3

# ---- changer and tape: mtx moves a cartridge, mt-st writes two files with
# filemarks, rewinds and reads them back; the cartridge goes home and comes
# back with the data on it.
ckout mtx-status 'Storage Element 1:Full.*XT0001L6' mtx -f "$C" status
ck mtx-load mtx -f "$C" load 1 0
ckout mtx-status-loaded 'Data Transfer Element 0:Full \(Storage Element 1 Loaded\)' mtx -f "$C" status
ckout tapeinfo 'Product Type: Tape Drive' tapeinfo -f "$T"
tape_ready() { mt-st -f /dev/nst0 status; }
wait_for 30 tape_ready
ck mt-rewind mt-st -f /dev/nst0 rewind
# Layout written: file 0 (1 MiB), an empty file (an explicit WRITE
# FILEMARKS), file 2 (320 KiB). Closing /dev/nst0 after writing writes a
# filemark itself.
random_file /tmp/t1 1
dd if=/dev/urandom of=/tmp/t2 bs=64k count=5 2>/dev/null
ck tape-write-0 dd if=/tmp/t1 of=/dev/nst0 bs=64k
ck tape-weof mt-st -f /dev/nst0 weof 1
ck tape-write-2 dd if=/tmp/t2 of=/dev/nst0 bs=64k
ck tape-rewind mt-st -f /dev/nst0 rewind
ck tape-read-0 dd if=/dev/nst0 of=/tmp/tr1 bs=64k
ck tape-rewind-1 mt-st -f /dev/nst0 rewind
ck tape-fsf-1 mt-st -f /dev/nst0 fsf 1
ck tape-read-1 dd if=/dev/nst0 of=/tmp/tr0 bs=64k
ck tape-rewind-2 mt-st -f /dev/nst0 rewind
ck tape-fsf-2 mt-st -f /dev/nst0 fsf 2
ck tape-read-2 dd if=/dev/nst0 of=/tmp/tr2 bs=64k
if [ "$(md5 /tmp/tr1)" = "$(md5 /tmp/t1)" ] && [ -e /tmp/tr0 ] && [ ! -s /tmp/tr0 ] && [ "$(md5 /tmp/tr2)" = "$(md5 /tmp/t2)" ]; then
	ok tape-data "file 0 $(md5 /tmp/t1), file 1 empty, file 2 $(md5 /tmp/t2)"
else bad tape-data "read $(md5 /tmp/tr1)/$(wc -c </tmp/tr0) bytes/$(md5 /tmp/tr2), wrote $(md5 /tmp/t1)/0/$(md5 /tmp/t2)"; fi
# in file 2 (or just past its filemark, depending on how st counts it)
ckout tape-status-file 'File number=[23]' mt-st -f /dev/nst0 status
ck tape-rewind-3 mt-st -f /dev/nst0 rewind
ck mtx-unload mtx -f "$C" unload 1 0
ckout mtx-status-unloaded 'Data Transfer Element 0:Empty' mtx -f "$C" status
ck mtx-reload mtx -f "$C" load 1 0
wait_for 30 tape_ready
rm -f /tmp/tr1
ck tape-read-reloaded dd if=/dev/nst0 of=/tmp/tr1 bs=64k
if [ "$(md5 /tmp/tr1)" = "$(md5 /tmp/t1)" ]; then ok tape-data-kept; else bad tape-data-kept; fi
mt-st -f /dev/nst0 rewind
ck mtx-unload-2 mtx -f "$C" unload 1 0

# ---- hotplug under I/O: dom0 hot-adds target 4 and removes it again
# while a reader keeps verifying the first 16 MiB of the disk.
REF=$(md5 /tmp/r1)
rm -f /tmp/stop /tmp/io.log
(
	n=0 errs=0
	while [ ! -e /tmp/stop ]; do
		if dd if="$DB" of=/tmp/bg bs=1M count=16 iflag=direct 2>/dev/null && [ "$(md5 /tmp/bg)" = "$REF" ]; then
			n=$((n + 1))
		else
			errs=$((errs + 1))
		fi
		echo "$n $errs" >/tmp/io.log
	done
) &
IO=$!
wait_for 60 test -s /tmp/io.log
stage io-running
if wait_for 120 sdev_of 4; then
	ok hotadd-seen "$(sdev_of 4)"
	wait_for 20 has_block 4
	HP=$(sg_of 4) HB=$(blk_of 4)
	ckout hotadd-inq 'PDT=0' sg_inq "$HP"
	ck hotadd-read dd if="$HB" of=/tmp/h1 bs=1M count=16 iflag=direct && report_md5 hp.read.0-16 /tmp/h1
	rm -f /tmp/h1
else
	bad hotadd-seen "target 4 did not appear"
fi
stage hotadd-done
gone4() { ! sdev_of 4; }
if wait_for 120 gone4; then ok hotremove-gone; else bad hotremove-gone "target 4 still there"; fi
sleep 2
touch /tmp/stop
wait $IO
set -- $(cat /tmp/io.log)
if [ "$1" -ge 2 ] && [ "$2" -eq 0 ]; then ok io-during-hotplug "$1 verified 16 MiB reads, $2 errors"
else bad io-during-hotplug "$1 verified reads, $2 errors"; fi
if dmesg | grep -qiE 'I/O error|critical (target|medium)|rejecting I/O'; then
	bad kernel-io-errors "$(dmesg | grep -iE 'I/O error|critical|rejecting' | head -3 | tr '\n' '|')"
else ok no-kernel-io-errors; fi
dmesg | grep -iE 'scsi|vscsi|st |ch ' | tail -40 | sed 's/^/  dmesg| /'
