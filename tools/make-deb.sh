#!/usr/bin/env bash
# make deb: the Debian packages of this tree, built with
# dpkg-buildpackage -us -uc -b in a scratch copy of the tracked files (so
# the tree and its build/ stay as they are), then checked with lintian.
#
#   tools/make-deb.sh OUT_DIR
#
# OUT_DIR gets the .deb files, the .changes and .buildinfo, build.log and
# lintian.log; the last lines printed list the packages and their sizes.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
VERSION=$(cat "$TOP/VERSION")
SRC=$OUT/src/vscsi-$VERSION

for t in dpkg-buildpackage dh lintian; do
	command -v "$t" >/dev/null || { echo "make deb: $t is missing (make deps installs it)" >&2; exit 2; }
done
rm -rf "$OUT/src" "$OUT"/*.deb "$OUT"/*.changes "$OUT"/*.buildinfo
mkdir -p "$SRC"
# The tracked files as they are now (a fresh clone: the commit). A tree
# that is not a checkout's top (a tarball, a copy inside another
# checkout) is copied whole, build directories aside.
if [ "$(git -C "$TOP" rev-parse --show-toplevel 2>/dev/null)" = "$TOP" ]; then
	git -C "$TOP" ls-files -z | (cd "$TOP" && xargs -0 cp --parents -t "$SRC")
else
	tar -C "$TOP" --exclude='./build*' -cf - . | tar -C "$SRC" -xf -
fi
echo "make deb: dpkg-buildpackage -us -uc -b in $SRC (log: $OUT/build.log)"
if ! (cd "$SRC" && dpkg-buildpackage -us -uc -b) >"$OUT/build.log" 2>&1; then
	tail -30 "$OUT/build.log" >&2
	echo "make deb: dpkg-buildpackage failed (log: $OUT/build.log)" >&2
	exit 1
fi
mv "$OUT"/src/*.deb "$OUT"/src/*.changes "$OUT"/src/*.buildinfo "$OUT"/
rm -rf "$OUT/src"
# lintian: errors fail the build; warnings are listed (debian/README.source
# says which are kept and why).
lintian --tag-display-limit 0 "$OUT"/*.changes >"$OUT/lintian.log" 2>&1 || true
sed 's/^/  lintian: /' "$OUT/lintian.log"
echo "make deb: packages in $OUT:"
for d in "$OUT"/*.deb; do
	printf '  %-44s %6s KiB installed, %6s KiB .deb\n' "${d##*/}" \
		"$(dpkg-deb -f "$d" Installed-Size)" "$(( ($(stat -c %s "$d") + 1023) / 1024 ))"
done
if grep -q '^E: ' "$OUT/lintian.log"; then
	echo "make deb: lintian reports errors (above)" >&2
	exit 1
fi
