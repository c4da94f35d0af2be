#!/usr/bin/env bash
# Builds (once) the Debian dom0 root filesystem of the real-Xen system test
# and caches it, keyed by a hash of its inputs: this script, the dom0 boot
# stub, the package lists and the mirrors. Xen and the Linux kernel come
# from Debian packages installed into the image, so the host's /boot is
# never touched.
#
#   build-rootfs.sh CACHE_ROOT RUNTIME_PKGS_FILE
#
# RUNTIME_PKGS_FILE lists (one a line) the Debian packages that the freshly
# built project needs at run time (computed by check-xen.sh from the ELF
# files). Prints the cache directory on stdout; it holds:
#   rootfs/        the tree (the domU initramfs takes its tools from it)
#   rootfs.ext4    the dom0 root disk (QEMU opens it with snapshot=on)
#   xen.elf        Xen, uncompressed (QEMU's multiboot loader wants that)
#   vmlinuz initrd.img kver   the dom0/domU kernel, dom0's initramfs
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

[ $# -eq 2 ] || { echo "usage: $0 CACHE_ROOT RUNTIME_PKGS_FILE" >&2; exit 2; }
CACHE_ROOT=$1
RUNTIME_PKGS=$(sort -u "$2" | tr '\n' ' ')

# What dom0 runs besides our own binaries. busybox-static, sg3-utils, mtx,
# mt-st, libiscsi-bin and xenstore-utils are also copied into the domU.
PKGS="linux-image-amd64 initramfs-tools xen-hypervisor-4.17-amd64 xen-utils-4.17 xenstore-utils
 sg3-utils lsscsi tgt open-iscsi mt-st mtx libiscsi-bin busybox-static
 kmod procps iproute2 psmisc util-linux"

read -r MIRROR SECMIRROR < <(xt_apt_mirrors) || xt_die "no Debian mirror in this machine's apt sources"
CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")

key=$( { cat "$0" "$HERE/dom0/xt-init"; echo "$PKGS|$RUNTIME_PKGS|$CODENAME|$MIRROR|$SECMIRROR"; } |
	sha256sum | cut -c1-16)
C=$CACHE_ROOT/rootfs-$key
mkdir -p "$CACHE_ROOT"
if [ -f "$C/complete" ]; then echo "$C"; exit 0; fi

exec 9>"$CACHE_ROOT/.lock"
flock -w 3600 9 || xt_die "cache $CACHE_ROOT is locked by someone else"
if [ -f "$C/complete" ]; then echo "$C"; exit 0; fi

xt_log "building the dom0 rootfs $C (once for these inputs)"
T=$CACHE_ROOT/building-$key
R=$T/rootfs
cleanup() {
	for m in proc sys dev/pts dev; do mountpoint -q "$R/$m" 2>/dev/null && umount -l "$R/$m"; done
	return 0
}
trap cleanup EXIT
cleanup
rm -rf "$T"
mkdir -p "$T"

timeout 1200 debootstrap --variant=minbase --include=ca-certificates "$CODENAME" "$R" "$MIRROR" \
	>"$T/debootstrap.log" 2>&1 || { tail -20 "$T/debootstrap.log" >&2; xt_die "debootstrap failed"; }

{
	echo "deb $MIRROR $CODENAME main"
	echo "deb $MIRROR $CODENAME-updates main"
	[ "$SECMIRROR" = - ] || echo "deb $SECMIRROR $CODENAME-security main"
} >"$R/etc/apt/sources.list"
# No service may start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod +x "$R/usr/sbin/policy-rc.d"
# A small dom0 initramfs: just what mounts root=/dev/vda.
mkdir -p "$R/etc/initramfs-tools/conf.d"
echo MODULES=list >"$R/etc/initramfs-tools/conf.d/vscsi-xt"
printf '%s\n' virtio_pci virtio_blk ext4 >>"$R/etc/initramfs-tools/modules"
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true

mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount --bind /dev "$R/dev"
mount --bind /dev/pts "$R/dev/pts"
in_root() { local t=$1; shift; DEBIAN_FRONTEND=noninteractive LC_ALL=C timeout "$t" chroot "$R" "$@"; }
in_root 600 apt-get update -qq >"$T/apt.log" 2>&1 || { tail -20 "$T/apt.log" >&2; xt_die "apt-get update in the rootfs failed"; }
# shellcheck disable=SC2086
in_root 1800 apt-get install -y -qq --no-install-recommends $PKGS $RUNTIME_PKGS >>"$T/apt.log" 2>&1 ||
	{ tail -30 "$T/apt.log" >&2; xt_die "apt-get install in the rootfs failed"; }
in_root 300 apt-get clean
cleanup
rm -f "$R/usr/sbin/policy-rc.d" "$R/etc/resolv.conf"
rm -rf "$R/usr/share/doc" "$R/usr/share/man" "$R/usr/share/locale" "$R/var/lib/apt/lists"/*

install -m 755 "$HERE/dom0/xt-init" "$R/sbin/xt-init"
echo "xt-dom0" >"$R/etc/hostname"
mkdir -p "$R/xt"

kver=$(ls "$R/lib/modules" | sort -V | tail -1)
[ -n "$kver" ] && [ -f "$R/boot/vmlinuz-$kver" ] && [ -f "$R/boot/initrd.img-$kver" ] ||
	xt_die "no kernel or initramfs in the rootfs"
xen=$(ls "$R"/boot/xen-4.17*-amd64.gz 2>/dev/null | sort -V | tail -1)
[ -n "$xen" ] || xt_die "no Xen in the rootfs /boot"
zcat "$xen" >"$T/xen.elf"
cp "$R/boot/vmlinuz-$kver" "$T/vmlinuz"
cp "$R/boot/initrd.img-$kver" "$T/initrd.img"
echo "$kver" >"$T/kver"
size_mb=$(( $(du -sm "$R" | cut -f1) + 768 ))
mkfs.ext4 -q -F -L xt-dom0 -d "$R" "$T/rootfs.ext4" "${size_mb}M" >&2
{ echo "key $key"; echo "packages $PKGS $RUNTIME_PKGS"; echo "mirrors $MIRROR $SECMIRROR";
  echo "kernel $kver"; echo "xen $(basename "$xen")"; date -u; } >"$T/inputs"
touch "$T/complete"
rm -rf "$C"
mv "$T" "$C"
# Keep the two newest builds; older ones only take space.
ls -dt "$CACHE_ROOT"/rootfs-* 2>/dev/null | tail -n +3 | while read -r old; do rm -rf "$old"; done
xt_log "rootfs ready: $C ($(du -sh "$C/rootfs" | cut -f1), kernel $kver)"
echo "$C"
