# Scenario 7, guest side: one node of a two-guest cluster on a shared
# iSCSI LUN (xt_role=a|b). dom0 names the next step in our xenstore node
# data/xt-step; we run our part of it and write data/xt-done. "end" ends.
# Each step is one sg3_utils command whose exit status sg3_utils defines:
# 0 good, 24 RESERVATION CONFLICT, 6 UNIT ATTENTION.
wait_devices
D=$(sg_of 0)
echo "XTG-VALUE sg $D"
dd if=/dev/zero of=/tmp/zero bs=512 count=1 2>/dev/null
wr() { sg_raw -s 512 -i /tmp/zero "$D" 2a 0 0 0 0 0 0 0 1 0; }
rd() { sg_raw -r 512 "$D" 28 0 0 0 0 0 0 0 1 0; }
pout() { sg_persist --out --no-inquiry "$@" "$D"; }
pin() { sg_persist --in --no-inquiry "$@" "$D"; }

role_step() {
	case $1:$2 in
	a:1) ck_rc pr-a-register 0 pout --register --param-sark=0xa ;;
	a:2) ck_rc pr-a-reserve 0 pout --reserve --param-rk=0xa --prout-type=1 ;;
	a:3) ck_rc pr-a-write 0 wr ;;
	b:4) ck_rc pr-b-write-conflict 24 wr ;;
	b:5) ck_rc pr-b-read 0 rd ;;
	b:6) ckout pr-b-sees-a-reserved 'Key=0xa' pin --read-reservation ;;
	b:7) ck_rc pr-b-register 0 pout --register --param-sark=0xb ;;
	b:8) ck_rc pr-b-preempt 0 pout --preempt --param-rk=0xb --param-sark=0xa --prout-type=1 ;;
	# tgtd tells the preempted initiator once (REGISTRATIONS PREEMPTED);
	# through the kernel's sg the guest program gets it
	a:9) ck_rc pr-a-told-preempted 6 wr ;;
	a:10) ck_rc pr-a-write-conflict 24 wr ;;
	a:11) ckout pr-a-sees-b-reserved 'Key=0xb' pin --read-reservation ;;
	# a LOGICAL UNIT RESET by A (xen-scsifront -> scsiback -> the target)
	a:12) ck_rc pr-a-lun-reset 0 sg_reset -d "$D" ;;
	# which B hears of (BUS DEVICE RESET), with its reservation kept
	b:13) ck_rc pr-b-told-reset 6 sg_turs "$D" ;;
	b:14) ckout pr-b-reservation-kept 'Key=0xb' pin --read-reservation ;;
	b:15) ck_rc pr-b-write 0 wr ;;
	b:16) ck_rc pr-b-clear 0 pout --clear --param-rk=0xb ;;
	esac
}

stage pr-ready
last=
while :; do
	s=$(xenstore-read data/xt-step 2>/dev/null)
	[ "$s" = end ] && break
	if [ -n "$s" ] && [ "$s" != "$last" ]; then
		role_step "${XT_ROLE:-a}" "$s"
		last=$s
		xenstore-write data/xt-done "$s"
	fi
	sleep 0.2
done
