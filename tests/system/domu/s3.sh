# Scenario 3, guest side: our frontend (libvscsifront) against our scsiback,
# the same tools the simulator tests run: the vscsi CLI, and sg3_utils, mtx,
# tapeinfo and iscsi-test-cu unmodified under ld_vscsi.so.
# Vhost 0: 0:0:0:0 disk, 0:0:1:0 tape, 0:0:2:0 changer, 0:0:3:0 the cu LUN.
. /xt/userfront.sh
userfront_start
userfront_disk 0:0:0:0 48 s3.disk

# changer and tape through the shim (sg_raw speaks to the tape directly)
M="--map /dev/sg101=0:0:1:0,/dev/sg102=0:0:2:0"
ckout shim-mtx-status 'Storage Element 1:Full' vscsi run $M -- mtx -f /dev/sg102 status
ck shim-mtx-load vscsi run $M -- mtx -f /dev/sg102 load 2 0
tape_ready() { vscsi run $M -- sg_turs /dev/sg101; }
wait_for 30 tape_ready
ckout shim-tapeinfo 'Product Type: Tape Drive' vscsi run $M -- tapeinfo -f /dev/sg101
ck shim-tape-rewind vscsi run $M -- sg_raw /dev/sg101 01 00 00 00 00 00
dd if=/dev/urandom of=/tmp/tw bs=64k count=1 2>/dev/null
ck shim-tape-write vscsi run $M -- sg_raw -s 65536 -i /tmp/tw /dev/sg101 0a 00 01 00 00 00
ck shim-tape-weof vscsi run $M -- sg_raw /dev/sg101 10 00 00 00 01 00
ck shim-tape-rewind-2 vscsi run $M -- sg_raw /dev/sg101 01 00 00 00 00 00
ck shim-tape-read vscsi run $M -- sg_raw -r 65536 -o /tmp/tr /dev/sg101 08 00 01 00 00 00
if [ -s /tmp/tr ] && [ "$(md5 /tmp/tr)" = "$(md5 /tmp/tw)" ]; then ok shim-tape-data; else bad shim-tape-data; fi
ck shim-tape-rewind-3 vscsi run $M -- sg_raw /dev/sg101 01 00 00 00 00 00
ck shim-mtx-unload vscsi run $M -- mtx -f /dev/sg102 unload 2 0
ckout shim-mtx-status-2 'Data Transfer Element 0:Empty' vscsi run $M -- mtx -f /dev/sg102 status

# iscsi-test-cu through the shim on the cu LUN (dom0 compares the outcomes
# with its direct run of scenario 4)
vscsi run --map /dev/sg103=0:0:3:0 -- sg_turs /dev/sg103 >/dev/null 2>&1
t0=$(uptime_s)
echo "XTG-RUN vscsi run -- iscsi-test-cu -d --test=$(cu_tests) /dev/sg103"
vscsi run --map /dev/sg103=0:0:3:0 -- iscsi-test-cu -d --test="$(cu_tests)" /dev/sg103 >/tmp/cu.log 2>&1
echo "XTG-VALUE cu.rc $? seconds=$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.0f", b - a }')"
sh /xt/testcu-outcomes.sh /tmp/cu.log >/tmp/cu.out
sed 's/^/XTG-CU /' /tmp/cu.out
echo "XTG-VALUE cu.counts $(sh /xt/testcu-outcomes.sh --counts /tmp/cu.log)"
if [ -s /tmp/cu.out ]; then ok cu-ran "$(wc -l </tmp/cu.out) tests"; else bad cu-ran "no test outcome"; tail -30 /tmp/cu.log; fi
