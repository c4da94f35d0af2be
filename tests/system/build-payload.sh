#!/usr/bin/env bash
# Builds the per-run payload disk of the real-Xen system test: the freshly
# built project's Debian packages (dom0 installs them with dpkg), the dom0
# test scripts and the domU initramfs (busybox, SCSI modules, sg3_utils,
# mtx, mt-st, iscsi-test-cu, xenstore tools, the guest tools package's
# vscsi CLI and shim, the guest scripts).
#
#   build-payload.sh ROOTFS_CACHE_DIR STAGE_DIR OUT_DIR DEB...
#
# STAGE_DIR holds the packages' files (dpkg-deb -x of each DEB): the
# initramfs, which has no dpkg, takes the guest tools from there.
# Writes OUT_DIR/payload.ext4 (dom0 mounts it on /xt) and OUT_DIR/domu/ (the
# initramfs tree, kept for inspection).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

[ $# -ge 4 ] || { echo "usage: $0 ROOTFS_CACHE_DIR STAGE_DIR OUT_DIR DEB..." >&2; exit 2; }
C=$1 STAGE=$2 OUT=$3
shift 3
R=$C/rootfs
KVER=$(cat "$C/kver")
P=$OUT/payload
D=$OUT/domu
rm -rf "$P" "$D"
mkdir -p "$P/dom0" "$P/domu" "$P/debs" "$D"

# ---- the project: its packages (not the simulator's: real Xen here)
cp "$@" "$P/debs/"
cp "$HERE"/dom0/*.sh "$P/dom0/"
# iscsi-test-cu's output turned into one outcome per test (scsifront's tests use it too)
cp "$HERE/../scsifront/testcu-outcomes.sh" "$P/dom0/"
if [ -n "${XT_CU_SUITES:-}" ]; then echo "$XT_CU_SUITES" | tr ', ' '\n\n' >"$P/dom0/cu-suites"
else cp "$HERE/cu-suites" "$P/dom0/cu-suites"; fi
# Backing files of the LUNs, made here: random data comes fast on the host
# and slowly under TCG. dom0's tgtd serves them from the payload disk.
mkdir -p "$P/data"
for f in disk:64 hp:16 lib:32 cu:64 lio:32; do
	head -c $(( ${f##*:} << 20 )) /dev/urandom >"$P/data/${f%%:*}.img"
done
chmod +x "$P"/dom0/*.sh

# ---- domU initramfs
mkdir -p "$D"/{bin,sbin,usr/bin,usr/sbin,usr/lib/vscsi,proc,sys,dev,tmp,run,etc,xt,lib/modules,var/run}
install -m 755 "$R/bin/busybox" "$D/bin/busybox"
if readelf -d "$D/bin/busybox" | grep -q NEEDED; then xt_die "the rootfs busybox is not the static one"; fi
# Modules in load order; some may be built into the kernel.
: >"$D/lib/modules/load-order"
for m in xen-scsifront sd_mod sg st ch xen-evtchn xen-gntalloc xen-gntdev; do
	modprobe -d "$R" -S "$KVER" --show-depends "$m" | while read -r kind ko _; do
		[ "$kind" = insmod ] || continue
		ko=${ko#"$R"}
		b=$(basename "$ko")
		grep -qx "$b" "$D/lib/modules/load-order" && continue
		cp "$R$ko" "$D/lib/modules/$b"
		echo "$b" >>"$D/lib/modules/load-order"
	done
done
# Tools from the rootfs, and everything they link.
tools="/usr/bin/sg_inq /usr/bin/sg_readcap /usr/bin/sg_turs /usr/bin/sg_dd /usr/bin/sg_luns
 /usr/bin/sg_raw /usr/bin/sg_vpd /usr/bin/sg_map26 /usr/bin/sg_reset /usr/bin/sg_persist /usr/bin/lsscsi
 /usr/sbin/mtx /usr/sbin/tapeinfo /usr/bin/mt-st /usr/bin/iscsi-test-cu /usr/bin/xenstore"
for t in $tools; do
	[ -e "$R$t" ] || { [ -e "$R/bin/${t##*/}" ] && t=/bin/${t##*/}; }
	xt_copy_from_root "$R" "$D" "$t"
done
for t in read write ls rm list exists chmod watch; do ln -sf xenstore "$D/usr/bin/xenstore-$t"; done
# Our frontend: the CLI and the shim as the guest tools package lays them
# out, and the library.
install -m 755 "$STAGE/usr/bin/vscsi" "$D/usr/bin/vscsi"
install -m 755 "$STAGE/usr/lib/vscsi/ld_vscsi.so" "$D/usr/lib/vscsi/ld_vscsi.so"
for so in "$STAGE"/usr/lib/*/libvscsifront.so.0; do
	install -D -m 755 "$so" "$D/${so#"$STAGE"/}"
done
elfs=()
for t in $tools; do [ -e "$D$t" ] && elfs+=("$D$t"); done
elfs+=("$D/usr/bin/vscsi" "$D/usr/lib/vscsi/ld_vscsi.so")
# glibc dlopens libgcc_s for pthread_cancel (libxenstore cancels its reader
# thread): no DT_NEEDED names it.
{ xt_elf_closure "$R" "${elfs[@]}"; echo /lib/x86_64-linux-gnu/libgcc_s.so.1; } | sort -u | while read -r lib; do
	xt_copy_from_root "$R" "$D" "$lib"
done
# The guest's scripts.
install -m 755 "$HERE/domu/init" "$D/init"
cp "$HERE"/domu/*.sh "$HERE/../scsifront/testcu-outcomes.sh" "$P/dom0/cu-suites" "$D/xt/"
chmod +x "$D"/xt/*.sh
(cd "$D" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$P/domu/initrd.gz"
cp "$C/vmlinuz" "$P/domu/vmlinuz"

# ---- the disk dom0 mounts on /xt
size_mb=$(( $(du -sm "$P" | cut -f1) + 64 ))
rm -f "$OUT/payload.ext4"
mkfs.ext4 -q -F -L xt-payload -d "$P" "$OUT/payload.ext4" "${size_mb}M" >/dev/null
xt_log "payload: $(du -h "$P/domu/initrd.gz" | cut -f1) domU initramfs, disk ${size_mb} MiB"
