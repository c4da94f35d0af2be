# System test under real Xen (QEMU TCG): `make check-xen` (root, ~15 min).
# Not part of `make check`; see tests/system/check-xen.sh.
.PHONY: check-xen
check-xen:
	@bash tests/system/check-xen.sh
