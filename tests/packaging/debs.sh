#!/usr/bin/env bash
# The Debian packages (debian/, tools/make-deb.sh) checked as a user gets
# them. test_debs runs the steps in order on one directory:
#
#   debs.sh build DIR     make-deb.sh into DIR: builds, lintian without errors
#   debs.sh contents DIR  what each package holds and declares
#   debs.sh purge DIR     installed into a throw-away root (an overlay of
#                         this machine's /), removed, purged: nothing left
#
# Each check prints "ok ..." or "FAIL ..."; the exit status is 1 when one
# failed, 77 when the step cannot run here (a skip, with the reason).
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
STEP=$1 DIR=$2
VERSION=$(cat "$TOP/VERSION")
ARCH=$(dpkg --print-architecture)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
PKGS=(scsiback vscsictl libvscsifront0 libvscsifront-dev vscsifront-utils vscsi-xensim)
failed=0
ok() { echo "ok $*"; }
bad() { echo "FAIL $*"; failed=1; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
deb() { echo "$DIR/${1}_${VERSION}_$ARCH.deb"; }

step_build() {
	bash "$TOP/tools/make-deb.sh" "$DIR" || { bad "make-deb.sh failed"; return; }
	for p in "${PKGS[@]}"; do check "built $p" test -s "$(deb "$p")"; done
	check "lintian: no error" bash -c "! grep -q '^E: ' '$DIR/lintian.log'"
	# Every warning kept is overridden in debian/ with its reason.
	check "lintian: no warning" bash -c "! grep -q '^W: ' '$DIR/lintian.log'"
}

# has PKG PATH [MODE]: the package ships PATH (as dpkg-deb -c shows it).
has() {
	local line
	line=$(dpkg-deb -c "$(deb "$1")" | awk -v p="./$2" '$6 == p || $6 == p "/" { print; exit }')
	[ -n "$line" ] || { echo "  $1 lacks /$2"; return 1; }
	[ -z "${3:-}" ] || [ "${line%% *}" = "$3" ] || { echo "  $1: /$2 is ${line%% *}, not $3"; return 1; }
}
field() { dpkg-deb -f "$(deb "$1")" "$2"; }
ctrl() { dpkg-deb --ctrl-tarfile "$(deb "$1")" | tar -xOf - "./$2" 2>/dev/null; }

step_contents() {
	local x=$DIR/x
	rm -rf "$x"; mkdir -p "$x"
	for p in "${PKGS[@]}"; do
		[ -s "$(deb "$p")" ] || { bad "no $(deb "$p")"; return; }
		check "$p: version $VERSION" [ "$(field "$p" Version)" = "$VERSION" ]
		dpkg-deb -x "$(deb "$p")" "$x"
	done
	check "scsiback: daemon, unit, conffile (root only), man page" eval \
		'has scsiback usr/sbin/scsiback && has scsiback lib/systemd/system/scsiback.service &&
		 has scsiback etc/vscsi/scsiback.conf -rw------- && has scsiback usr/share/man/man8/scsiback.8.gz'
	check "scsiback: the config is a conffile" eval "ctrl scsiback conffiles | grep -qx /etc/vscsi/scsiback.conf"
	check "scsiback: postinst creates _scsiback and enables the unit" eval \
		"ctrl scsiback postinst | sed -z 's/\\\\\n//g' | grep -q 'adduser --system.*_scsiback' &&
		 ctrl scsiback postinst | grep -q 'deb-systemd-helper.*enable.*scsiback.service'"
	check "scsiback: postrm removes _scsiback on purge" eval "ctrl scsiback postrm | grep -q 'deluser --system.*_scsiback'"
	check "vscsictl: tools, lifecycle unit, state directory, man pages" eval \
		'has vscsictl usr/sbin/vscsictl && has vscsictl usr/sbin/vscsi-lifecycle &&
		 has vscsictl lib/systemd/system/vscsi-lifecycle.service && has vscsictl var/lib/vscsi/domains &&
		 has vscsictl usr/share/man/man8/vscsictl.8.gz && has vscsictl usr/share/man/man8/vscsi-lifecycle.8.gz'
	check "libvscsifront0: the library under its soname" has libvscsifront0 "usr/lib/$MA/libvscsifront.so.0"
	check "libvscsifront-dev: header, link, static library, pkg-config file" eval \
		"has libvscsifront-dev usr/include/vscsifront.h && has libvscsifront-dev usr/lib/$MA/libvscsifront.so &&
		 has libvscsifront-dev usr/lib/$MA/libvscsifront.a && has libvscsifront-dev usr/lib/$MA/pkgconfig/vscsifront.pc"
	check "vscsifront-utils: CLI and shim where vscsi run looks" eval \
		'has vscsifront-utils usr/bin/vscsi && has vscsifront-utils usr/lib/vscsi/ld_vscsi.so'
	check "vscsi-xensim: the simulator and its libraries" eval \
		'has vscsi-xensim usr/bin/xensim && has vscsi-xensim usr/bin/xensimd &&
		 has vscsi-xensim usr/lib/vscsi/xensim/libxengnttab.so.1 && has vscsi-xensim usr/lib/vscsi/xensim/libxenevtchn.so.1'
	# Dependencies as dpkg-shlibdeps found them.
	check "scsiback: Depends names the libraries it links" eval \
		"field scsiback Depends | grep -q libiscsi7 && field scsiback Depends | grep -q libxenstore4 &&
		 field scsiback Depends | grep -q libinih1 && field scsiback Depends | grep -q libsgutils2"
	check "libvscsifront-dev depends on the same version of the library" eval \
		"field libvscsifront-dev Depends | grep -qF 'libvscsifront0 (= $VERSION)'"
	check "libvscsifront0: a symbols file" eval "ctrl libvscsifront0 symbols | grep -q '^ vscsi_open@'"
	# Only the public API: every exported name starts with vscsi_ and is
	# declared in the header.
	local so=$x/usr/lib/$MA/libvscsifront.so.0 names
	names=$(nm -D --defined-only "$so" | awk '{ print $3 }' | sed 's/@.*//' | grep -vx LIBVSCSIFRONT_0)
	check "libvscsifront0 exports only vscsi_*" eval "[ -n \"\$names\" ] && ! grep -qv '^vscsi_' <<<\"\$names\""
	local undeclared=
	for n in $names; do grep -qw "$n" "$x/usr/include/vscsifront.h" || undeclared+="$n "; done
	check "libvscsifront0 exports only what vscsifront.h declares${undeclared:+ (not: $undeclared)}" [ -z "$undeclared" ]
	# The -dev package works: a program built with pkg-config against it.
	cat >"$DIR/probe.c" <<'EOC'
#include <vscsifront.h>
int main(int argc, char **argv)
{
	char err[256];
	struct vscsi_host *h = argc > 1 ? vscsi_open(0, 0, err, sizeof(err)) : 0;

	(void)argv;
	if (h)
		vscsi_close(h);
	return 0;
}
EOC
	local pcflags
	pcflags=$(PKG_CONFIG_SYSROOT_DIR=$x PKG_CONFIG_LIBDIR="$x/usr/lib/$MA/pkgconfig:/usr/lib/$MA/pkgconfig:/usr/share/pkgconfig" \
		pkg-config --cflags --libs vscsifront)
	check "pkg-config vscsifront: $pcflags" eval \
		"cc -o '$DIR/probe' '$DIR/probe.c' $pcflags -Wl,-rpath-link,'$x/usr/lib/$MA' 2>&1 | sed 's/^/  /'; [ -x '$DIR/probe' ]"
	check "the probe links libvscsifront.so.0" eval "readelf -d '$DIR/probe' | grep -q 'NEEDED.*libvscsifront.so.0'"
	# Units as installed: the programs where the package puts them.
	check "scsiback.service runs /usr/sbin/scsiback" \
		grep -q '^ExecStart=/usr/sbin/scsiback ' "$x/lib/systemd/system/scsiback.service"
	check "vscsi-lifecycle.service runs /usr/sbin/vscsi-lifecycle, before xendomains" eval \
		"grep -q '^ExecStart=/usr/sbin/vscsi-lifecycle ' '$x/lib/systemd/system/vscsi-lifecycle.service' &&
		 grep -q '^Before=xendomains.service' '$x/lib/systemd/system/vscsi-lifecycle.service'"
	local b v
	for b in usr/sbin/scsiback usr/sbin/vscsictl usr/sbin/vscsi-lifecycle usr/bin/vscsi usr/bin/xensim; do
		v=$("$x/$b" --version 2>&1 | head -1)
		check "/$b --version: $v" eval "grep -qw -- '$VERSION' <<<'$v'"
	done
	# The test-only hooks (VSCSI_TEST_HOOKS) are compiled out of the packages.
	check "the packaged scsiback has no test hook" eval \
		"! grep -q VSCSI_TEST_SECCOMP_PROBE '$x/usr/sbin/scsiback' && grep -q VSCSI_TEST_SECCOMP_PROBE '${VSCSI_BUILD:-$TOP/build}/scsiback/scsiback'"
	# No file in two packages.
	local dups
	dups=$(for p in "${PKGS[@]}"; do dpkg-deb -c "$(deb "$p")" | awk '$1 !~ /^d/ { print $6 }'; done | sort | uniq -d)
	check "no file in two packages${dups:+: $dups}" [ -z "$dups" ]
}

# The throw-away root: an overlay on this machine's /, the changes in UP.
ROOT= UP=
root_up() {
	local t=$DIR/root
	rm -rf "$t"; mkdir -p "$t/up" "$t/work" "$t/m"
	mount -t overlay overlay -o "lowerdir=/,upperdir=$t/up,workdir=$t/work" "$t/m" || return 1
	ROOT=$t/m UP=$t/up
	mount --rbind /dev "$ROOT/dev" && mount -t proc proc "$ROOT/proc"
}
root_down() {
	[ -n "$ROOT" ] || return 0
	umount "$ROOT/proc" 2>/dev/null; umount -R "$ROOT/dev" 2>/dev/null; umount "$ROOT"
}
in_root() { chroot "$ROOT" "$@"; }
# Files our packages leave in the root's changes: anything but dpkg's, apt's
# and debconf's bookkeeping, man-db's index, /run (adduser's lock) and the
# account files (compared on their own).
leftovers() {
	(cd "$UP" && find . -mindepth 1 ! -type d | sed 's|^\./||') | grep -vE \
		'^(var/lib/dpkg/|var/log/dpkg\.log$|var/cache/debconf/|var/log/apt/|var/lib/apt/extended_states$|var/cache/apt/|etc/(passwd|group|shadow|gshadow|subuid|subgid)-?$|etc/\.pwd\.lock$|etc/ld\.so\.cache$|var/cache/ldconfig/|var/cache/man/|run/)'
	# directories that are new (not copied up from /)
	(cd "$UP" && find . -mindepth 1 -type d | sed 's|^\./||') | while read -r d; do
		[ -e "/$d" ] || echo "$d/"
	done
}
enabled_units() {
	find "$ROOT/etc/systemd/system" "$ROOT/var/lib/systemd/deb-systemd-helper-enabled" \
		\( -name 'scsiback*' -o -name 'vscsi-lifecycle*' \) 2>/dev/null
}

step_purge() {
	[ "$(id -u)" = 0 ] || { echo "skip: installing into a throw-away root needs root"; exit 77; }
	local p debs=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed &&
			{ echo "skip: $p is installed on this machine; the test needs one without it"; exit 77; }
		[ -s "$(deb "$p")" ] || { bad "no $(deb "$p")"; return; }
		debs+=("$(deb "$p")")
	done
	root_up || { echo "skip: no overlay mount here"; exit 77; }
	trap root_down EXIT
	mkdir -p "$ROOT/tmp/debs" && cp "${debs[@]}" "$ROOT/tmp/debs/"
	local inside=()
	for p in "${debs[@]}"; do inside+=("./${p##*/}"); done
	# as README.md says: apt install of the files (their dependencies are
	# installed on this machine: apt downloads nothing)
	check "apt install ./…deb installs all six" eval "in_root sh -c 'cd /tmp/debs &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y ${inside[*]}' >'$DIR/dpkg-install.log' 2>&1 ||
		{ tail -20 '$DIR/dpkg-install.log'; false; }"
	rm -rf "$ROOT/tmp/debs"
	check "the _scsiback system user exists" eval "in_root getent passwd _scsiback | grep -q ':/nonexistent:/usr/sbin/nologin$'"
	check "both units are enabled" eval "[ -L '$ROOT/etc/systemd/system/multi-user.target.wants/scsiback.service' ] &&
		[ -L '$ROOT/etc/systemd/system/multi-user.target.wants/vscsi-lifecycle.service' ]"
	check "scsiback --version in the root says $VERSION" eval "in_root scsiback --version | grep -qw '$VERSION'"
	check "the config is root's only" eval "[ \"\$(stat -c '%a %U' '$ROOT/etc/vscsi/scsiback.conf')\" = '600 root' ]"
	# An admin's edit survives remove; purge takes it.
	echo "# edited by the admin" >>"$ROOT/etc/vscsi/scsiback.conf"
	mkdir -p "$ROOT/var/lib/vscsi/domains" && echo '{}' >"$ROOT/var/lib/vscsi/domains/test.json"
	check "dpkg -r removes the programs" eval "in_root dpkg -r ${PKGS[*]} >>'$DIR/dpkg-install.log' 2>&1 &&
		[ ! -e '$ROOT/usr/sbin/scsiback' ] && [ ! -e '$ROOT/usr/bin/vscsi' ]"
	check "after remove: the edited config and the user stay" eval \
		"grep -q 'edited by the admin' '$ROOT/etc/vscsi/scsiback.conf' && in_root getent passwd _scsiback >/dev/null"
	check "dpkg -P purges" eval "in_root dpkg -P ${PKGS[*]} >>'$DIR/dpkg-install.log' 2>&1 ||
		{ tail -20 '$DIR/dpkg-install.log'; false; }"
	check "after purge: no _scsiback user or group" eval \
		"! in_root getent passwd _scsiback && ! in_root getent group _scsiback"
	local f acct=
	for f in passwd group shadow gshadow subuid subgid; do
		[ -e "$UP/etc/$f" ] && ! cmp -s "$UP/etc/$f" "/etc/$f" && acct+="$f "
	done
	check "after purge: the account files as before${acct:+ (differ: $acct)}" [ -z "$acct" ]
	local units
	units=$(enabled_units)
	check "after purge: no unit enabled or remembered${units:+: $units}" [ -z "$units" ]
	local left
	left=$(leftovers)
	check "after purge: nothing left${left:+: $(echo $left)}" [ -z "$left" ]
}

case $STEP in
build) step_build ;;
contents) step_contents ;;
purge) step_purge ;;
*) echo "usage: $0 build|contents|purge DIR" >&2; exit 2 ;;
esac
exit $failed
