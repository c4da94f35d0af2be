# Helpers shared by the host-side scripts of the real-Xen system test.
# Sourced, not run. Everything here runs on the host (not in dom0/domU).

XT_DIR=${XT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

xt_log() { printf 'check-xen: %s\n' "$*" >&2; }
xt_die() { xt_log "error: $*"; exit 1; }

# Debian mirrors of this machine's own apt configuration, so that nothing
# in the project names a registry host. Prints "MIRROR SECURITY_MIRROR"
# (the security one may be "-"). Reads deb822 *.sources files and one-line
# *.list files; keeps only entries whose suite is the running release.
xt_apt_mirrors() {
	local codename
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
	local files=()
	[ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
	local f
	for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && files+=("$f")
	done
	awk -v cn="$codename" '
	function consider(uri, suites,   n, i, s) {
		n = split(suites, s, /[ \t]+/)
		for (i = 1; i <= n; i++) {
			if (s[i] == cn && main == "") main = uri
			if (s[i] == cn "-security" && sec == "") sec = uri
		}
	}
	FNR == 1 { if (uris != "") consider(uris, suites); uris = suites = "" }
	FILENAME ~ /\.sources$/ {
		if ($0 ~ /^[ \t]*$/) { if (uris != "") consider(uris, suites); uris = suites = ""; next }
		if ($1 == "URIs:") { uris = $2 }
		if ($1 == "Suites:") { suites = $0; sub(/^Suites:[ \t]*/, "", suites) }
		next
	}
	/^deb[ \t]/ {
		i = 2
		if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
		consider($i, $(i + 1))
	}
	END {
		if (uris != "") consider(uris, suites)
		if (main == "") exit 1
		print main, (sec == "" ? "-" : sec)
	}
	' "${files[@]}"
}

# Installs missing host packages (idempotent, quiet when nothing is missing).
xt_host_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	xt_log "installing host packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	timeout 900 apt-get update -qq || return 1
	timeout 1800 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Prints the shared libraries (absolute paths inside ROOT, without ROOT) that
# the ELF files need, transitively, resolved by DT_NEEDED against ROOT's
# library directories and any extra directories given in XT_LIBDIRS (host
# paths, printed as they are). The program interpreter is included.
#   xt_elf_closure ROOT FILE...
xt_elf_closure() {
	local root=$1; shift
	local -A seen=()
	local queue=("$@") f lib d found
	local dirs=(/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib /lib)
	while [ ${#queue[@]} -gt 0 ]; do
		f=${queue[0]}; queue=("${queue[@]:1}")
		while read -r lib; do
			[ -n "$lib" ] || continue
			[ -n "${seen[$lib]:-}" ] && continue
			seen[$lib]=1
			found=
			for d in ${XT_LIBDIRS:-}; do
				[ -e "$d/$lib" ] && { found=$d/$lib; echo "$found"; queue+=("$found"); break; }
			done
			[ -n "$found" ] && continue
			for d in "${dirs[@]}"; do
				if [ -e "$root$d/$lib" ]; then
					found=$d/$lib; echo "$found"; queue+=("$root$found"); break
				fi
			done
			[ -n "$found" ] || { xt_log "warning: $lib (needed by $f) not found in $root"; }
		done < <(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
	done
	echo /lib64/ld-linux-x86-64.so.2
}

# Copies a file from ROOT into DEST at the same path, following symlinks.
xt_copy_from_root() {
	local root=$1 dest=$2 path=$3
	mkdir -p "$dest$(dirname "$path")"
	cp -L "$root$path" "$dest$path"
}

# Seconds since the epoch with two decimals, and a duration in seconds.
xt_now() { printf '%s' "${EPOCHREALTIME:0:-4}"; }
xt_since() { awk -v a="$1" -v b="${EPOCHREALTIME}" 'BEGIN { printf "%.0f", b - a }'; }
