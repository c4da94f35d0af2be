# Scenario 5, guest side: I/O that dom0 interrupts.
#   xt_mode=loop    read and write the disk until dom0 destroys us
#   xt_mode=rounds  rounds of "write 4 MiB, read back, compare" in 4 regions
#                   from 48 MiB on, through the block layer (which retries
#                   what a backend restart bounces), until dom0 writes our
#                   xenstore node data/xt-stop; dom0 kills and restarts
#                   scsiback meanwhile
#   xt_mode=check   read [0, 16 MiB) once (the next guest after it all)
wait_devices
DB=$(blk_of 0)
case ${XT_MODE:-check} in
loop)
	random_file /tmp/pat 4
	i=0
	while :; do
		dd if="$DB" of=/dev/null bs=1M count=16 iflag=direct 2>/dev/null
		dd if=/tmp/pat of="$DB" bs=1M seek=48 oflag=direct 2>/dev/null
		i=$((i + 1))
		[ $i -eq 1 ] && stage io-running
		[ $((i % 5)) -eq 0 ] && echo "XTG-NOTE loop $i"
	done
	;;
rounds)
	errs=0
	i=1
	while [ $i -le 400 ] && ! xenstore-read data/xt-stop >/dev/null 2>&1; do
		r=$((i % 4))
		random_file /tmp/w.$r 4
		dd if=/tmp/w.$r of="$DB" bs=1M seek=$((48 + r * 4)) oflag=direct conv=fsync 2>/tmp/dd.err ||
			{ errs=$((errs + 1)); echo "XTG-NOTE round $i write failed: $(cat /tmp/dd.err)"; }
		rm -f /tmp/r
		dd if="$DB" of=/tmp/r bs=1M skip=$((48 + r * 4)) count=4 iflag=direct 2>/tmp/dd.err ||
			{ errs=$((errs + 1)); echo "XTG-NOTE round $i read failed: $(cat /tmp/dd.err)"; }
		[ "$(md5 /tmp/r)" = "$(md5 /tmp/w.$r)" ] || { errs=$((errs + 1)); echo "XTG-NOTE round $i: data differs"; }
		stage "round-$i"
		i=$((i + 1))
	done
	for r in 0 1 2 3; do [ -f /tmp/w.$r ] && report_md5 "region.$r" /tmp/w.$r; done
	if [ $errs -eq 0 ]; then ok io-across-restarts "$((i - 1)) rounds verified"
	else bad io-across-restarts "$errs errors in $((i - 1)) rounds"; fi
	if dmesg | grep -qiE 'I/O error|rejecting I/O|offlin'; then
		bad kernel-io-errors "$(dmesg | grep -iE 'I/O error|rejecting|offlin' | head -3 | tr '\n' '|')"
	else ok no-kernel-io-errors; fi
	dmesg | grep -iE 'scsi|vscsi|sd ' | tail -30 | sed 's/^/  dmesg| /'
	;;
check)
	ck read dd if="$DB" of=/tmp/r bs=1M count=16 iflag=direct && report_md5 read.0-16 /tmp/r
	;;
esac
