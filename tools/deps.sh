#!/usr/bin/env bash
# Installs, idempotently, the Debian 12 packages vscsi needs to build, test
# and run its demo. Does nothing when everything is already there.
set -euo pipefail

PKGS=(
	build-essential pkg-config clang
	# libFuzzer's runtime for make fuzz (only recommended by clang, and
	# recommends are not installed here)
	libclang-rt-14-dev
	libxen-dev xenstore-utils
	libiscsi-dev libiscsi-bin
	libsgutils2-dev sg3-utils
	tgt mtx mt-st
	# a second iSCSI target, which keeps reservations per initiator port
	istgt
	# fence_scsi, a cluster agent run in test_shared_lun's guests
	fence-agents
	libcmocka-dev libjson-c-dev libinih-dev libseccomp-dev
	procps psmisc iproute2
	groff-base
	# make deb (and make check-xen, which installs the packages)
	dpkg-dev debhelper lintian adduser
	# make bench draws its results
	gnuplot-nox
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# An old or missing package list makes apt-get install fail: refresh once.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
