# Scenario 2, guest side: our frontend against the Linux kernel's
# xen-scsiback (LIO). 0:0:0:0 a fileio LUN, 0:0:1:0 an iblock LUN over
# dom0's iSCSI disk "hp".
. /xt/userfront.sh
userfront_start
userfront_disk 0:0:0:0 16 s2.fileio
ck s2.iblock-read vscsi read -d 0:0:1:0 --lba 0 -n 32768 -o /tmp/h && report_md5 s2.iblock.read.0-16 /tmp/h
ckout s2.iblock-shim-inq 'PDT=0' vscsi run --map /dev/sg101=0:0:1:0 -- sg_inq /dev/sg101
