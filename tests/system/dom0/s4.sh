#!/bin/bash
# Scenario 4: transparency. libiscsi's iscsi-test-cu (the SCSI family, i.e.
# the SBC and SPC suites, destructive tests allowed) runs against the cu LUN
# once in dom0 on its own /dev/sgN and once in a guest through the stock
# xen-scsifront and our scsiback. Every test must end the same way.
# The checks the scenario must record, whatever their verdict (main.sh
# fails it when one is missing; a glob matches any name, 'a|b' either).
# checks: cu-dom0-ran attach guest:devices-appeared guest:tur guest:cu-ran cu-same-outcomes
. /xt/dom0/lib.sh
. "$W/storage.env"
G=xt-s4
scsiback_start || { fail scsiback-start; exit 1; }

cu_direct() { # OUT_PREFIX
	sg_turs "$CU_SG" >/dev/null 2>&1
	local t0=$SECONDS
	t 900 iscsi-test-cu -d --test="$(cu_tests)" "$CU_SG" >"$W/logs/$1.log" 2>&1
	say "iscsi-test-cu in dom0: status $?, $((SECONDS - t0)) s"
	bash "$XT/dom0/testcu-outcomes.sh" "$W/logs/$1.log" >"$W/$1.out"
}
cu_direct s4-cu-dom0
cp "$W/s4-cu-dom0.out" "$W/cu-dom0.out"   # scenario 3 compares with it too
n=$(wc -l <"$W/s4-cu-dom0.out")
[ "$n" -gt 100 ] && pass cu-dom0-ran "$n tests: $(bash "$XT/dom0/testcu-outcomes.sh" --counts "$W/logs/s4-cu-dom0.log")" ||
	fail cu-dom0-ran "only $n test outcomes"

dom=$(guest_create $G 1 s4 xt_front=kernel) || { fail guest-create; exit 1; }
expect attach t 60 vscsictl attach $G "$CU_SG" 0:0:0:0
guest_unpause $G
guest_finish $G 300
sed -n 's/\r$//; s/^XTG-CU //p' "$(guest_log $G)" >"$W/s4-cu-guest.out"
say "guest: $(guest_value $G cu.counts) (status $(guest_value $G cu.rc) s)"
if [ ! -s "$W/s4-cu-guest.out" ]; then
	fail cu-same-outcomes "no outcomes from the guest"
elif diff -u "$W/s4-cu-dom0.out" "$W/s4-cu-guest.out" >"$W/logs/s4-cu.diff"; then
	pass cu-same-outcomes "$(wc -l <"$W/s4-cu-guest.out") tests, $(guest_value $G cu.counts)"
else
	# Is dom0 itself deterministic? Run it once more before blaming the stack.
	cu_direct s4-cu-dom0-again
	if diff -q "$W/s4-cu-dom0.out" "$W/s4-cu-dom0-again.out" >/dev/null; then again="dom0 repeats its own outcomes"
	else again="dom0's second run differs from its first too"; fi
	fail cu-same-outcomes "$(grep -c '^[-+][A-Z]' "$W/logs/s4-cu.diff") lines differ ($again): $(grep '^[-+][A-Z]' "$W/logs/s4-cu.diff" | head -12 | tr '\n' ' ')"
	cat "$W/logs/s4-cu.diff"
fi
exit 0
