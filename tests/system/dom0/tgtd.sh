#!/bin/bash
# Starts tgtd on 127.0.0.1:3260 and configures its targets (see
# storage.sh), with fresh tapes. Run by storage.sh at setup, and again by
# main.sh when tgtd died during a scenario: the open-iscsi sessions of dom0
# then log in again by themselves, with the same device nodes.
. /xt/dom0/lib.sh
set -u
IQN=iqn.2026-01.xt.vscsi
S=/tmp/xt-store
mkdir -p "$S/vtl"
rm -f "$S/vtl/"*
dd if=/dev/zero of="$S/vtl/smc" bs=1k count=1 status=none
for b in XT0001L6 XT0002L6; do
	tgtimg --op new --device-type tape --barcode "$b" --size 64 --type data --file "$S/vtl/$b" >/dev/null || exit 1
done
tgtimg --op new --device-type tape --barcode "" --size 1 --type clean --file "$S/vtl/notape" >/dev/null || exit 1

echo "[$(up)] tapes ready"
tgtd -f --iscsi portal=127.0.0.1:3260 >>/var/log/tgtd.log 2>&1 &
echo $! >/run/xt-tgtd.pid
for i in $(seq 50); do tgtadm --op show --mode sys >/dev/null 2>&1 && break; sleep 0.2; done
ta() { tgtadm --lld iscsi "$@" || { echo "tgtadm $* failed"; exit 1; }; }
lu() { ta --mode logicalunit "$@"; }
tid=0
for name in disk hp lib cu; do
	tid=$((tid + 1))
	ta --op new --mode target --tid $tid -T "$IQN:$name"
	lu --op new --tid $tid --lun 1 -b "$S/$name.img"
	ta --op bind --mode target --tid $tid -I ALL
done
VT=5
ta --op new --mode target --tid $VT -T "$IQN:vtl"
lu --op new --tid $VT --lun 1 -b "$S/vtl/notape" --device-type=tape
lu --op update --tid $VT --lun 1 --params online=0
lu --op new --tid $VT --lun 2 -b "$S/vtl/smc" --device-type=changer
smc() { lu --op update --tid $VT --lun 2 --params "$1"; }
smc media_home="$S/vtl"
smc element_type=1,start_address=1,quantity=1
smc element_type=2,start_address=1000,quantity=4
smc element_type=4,start_address=2,quantity=1
smc element_type=4,address=2,tid=$VT,lun=1
smc element_type=2,address=1000,barcode=XT0001L6,sides=1
smc element_type=2,address=1001,barcode=XT0002L6,sides=1
ta --op bind --mode target --tid $VT -I ALL
# tid 6: a guest cluster's shared disk (scenario 7), reached only through
# scsiback's iscsi:// LUNs
[ -f "$S/pr.img" ] || truncate -s 8M "$S/pr.img"
ta --op new --mode target --tid 6 -T "$IQN:pr"
lu --op new --tid 6 --lun 1 -b "$S/pr.img"
ta --op bind --mode target --tid 6 -I ALL

echo "[$(up)] tgtd configured"
