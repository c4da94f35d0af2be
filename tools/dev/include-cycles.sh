#!/usr/bin/env bash
# include-cycles.sh DIR...: whether the C units in DIR... call each other
# in a cycle. A unit is a name: x.c and x.h are one unit "x", so an edge
# x -> y means x.c or x.h includes "y.h"; headers not in DIR... (the
# system's, common/'s when not given) are not followed. The include graph
# stands for the call graph only when each unit declares what it defines,
# so that is checked first: every function x.c defines (not static) must
# be declared in x.h. Prints the units in an order where each comes after
# all it includes and exits 0; or names the functions declared elsewhere,
# or the units of a cycle (tsort finds it), and exits 1.
#   tools/dev/include-cycles.sh scsiback
#   tools/dev/include-cycles.sh scsiback common
set -u
[ $# -gt 0 ] || { echo "usage: $0 DIR..." >&2; exit 2; }
declare -A have
for d in "$@"; do
	[ -d "$d" ] || { echo "include-cycles: $d: not a directory" >&2; exit 2; }
	for h in "$d"/*.h; do [ -e "$h" ] && have[$(basename "$h" .h)]=1; done
done
# Function definitions, in this tree's style: the header line(s) from
# column 0 down to a lone "{".
misplaced=$(for d in "$@"; do
	for c in "$d"/*.c; do
		h=${c%.c}.h
		awk '/^[{]$/ { if (hdr !~ /^(static|typedef|struct|union|enum)[ \t]/ && match(hdr, /[A-Za-z_][A-Za-z0-9_]*\(/))
				print substr(hdr, RSTART, RLENGTH - 1)
			hdr = ""; next }
		     /^[A-Za-z]/ { hdr = $0; next }
		     /^[ \t]/ && hdr != "" { hdr = hdr " " $0; next }
		     { hdr = "" }' "$c" | while read -r fn; do
			# (entry points: a program's main, a fuzzer's input)
			case $fn in main|LLVMFuzzerTestOneInput) continue ;; esac
			[ -e "$h" ] && grep -qE "\b$fn\(" "$h" || echo "$fn (defined in $c, not declared in $h)"
		done
	done
done)
if [ -n "$misplaced" ]; then
	echo "functions not declared in their unit's header:"
	sed 's/^/  /' <<<"$misplaced"
	exit 1
fi
edges=$(for d in "$@"; do
	for f in "$d"/*.c "$d"/*.h; do
		[ -e "$f" ] || continue
		u=$(basename "$f"); u=${u%.*}
		echo "$u $u"   # every unit is listed, included or not
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)\.h".*/\1/p' "$f" |
			while read -r inc; do
				inc=${inc##*/}
				[ -n "${have[$inc]:-}" ] && [ "$inc" != "$u" ] && echo "$inc $u"
			done
	done
done | sort -u)
err=$(mktemp)
trap 'rm -f "$err"' EXIT
if order=$(tsort <<<"$edges" 2>"$err"); then
	echo "no cycle among $(wc -l <<<"$order") units of $*: $(tr '\n' ' ' <<<"$order")"
	exit 0
fi
echo "include cycle in $*: $(sed -n 's/^tsort: \([^ -][^ ]*\)$/\1/p' "$err" | tr '\n' ' ')"
exit 1
