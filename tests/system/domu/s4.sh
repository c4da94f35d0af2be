# Scenario 4, guest side: iscsi-test-cu (SCSI family: SBC + SPC) on the
# LUN as the guest's stock xen-scsifront shows it (/dev/sgN). dom0 runs the
# same suite on its own /dev/sgN of that LUN and compares test by test.
wait_devices
S=$(sg_of 0)
sg_turs "$S" >/dev/null 2>&1
ck tur sg_turs "$S"
t0=$(uptime_s)
echo "XTG-RUN iscsi-test-cu -d --test=$(cu_tests) $S"
iscsi-test-cu -d --test="$(cu_tests)" "$S" >/tmp/cu.log 2>&1
echo "XTG-VALUE cu.rc $? seconds=$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.0f", b - a }')"
sh /xt/testcu-outcomes.sh /tmp/cu.log >/tmp/cu.out
sed 's/^/XTG-CU /' /tmp/cu.out
echo "XTG-VALUE cu.counts $(sh /xt/testcu-outcomes.sh --counts /tmp/cu.log)"
if [ -s /tmp/cu.out ]; then ok cu-ran "$(wc -l </tmp/cu.out) tests"; else bad cu-ran "no test outcome"; tail -30 /tmp/cu.log; fi
