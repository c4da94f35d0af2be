#!/usr/bin/env bash
# doc-blocks.sh FILE...: runs the command blocks of the docs as a reader
# would type them. A ```sh block counts when the line before it is
# "<!-- runs as written -->". Its lines run one after the other in one
# shell started in the source tree (the current directory), each as
# written; a line must succeed, unless its comment says "refused" (then
# it must fail); a comment "prints X" must be what the line printed. A
# line ending in "&" starts in the background (its output kept for the
# report); whatever a block left running is killed at its end. Prints
# what each line did; exit 0 when every line did what the text says.
set -u
[ $# -gt 0 ] || { echo "usage: $0 FILE..." >&2; exit 2; }
fail=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The blocks of a file, each into $work/block-N (N counts in the file).
extract() {
	awk -v dir="$work" -v base="$(basename "$1")" '
		/^<!-- runs as written -->$/ { want = 1; next }
		want && /^```sh$/ { n++; out = dir "/" base "-" n; inblock = 1; want = 0; next }
		inblock && /^```$/ { inblock = 0; close(out); next }
		inblock { print > out; next }
		{ want = 0 }' "$1"
}

# A runnable script for one block: each line wrapped in its check.
compile() {
	local line cmd comment n=0 q
	echo 'set -u; bg_pids=(); bad=0'
	echo 'finish() { for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; exit "$bad"; }'
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		case $line in ''|'#'*) continue ;; esac
		cmd=$line comment=
		if [[ $line == *' # '* ]]; then cmd=${line%% # *} comment=${line#* # }; fi
		cmd=$(sed 's/[[:space:]]*$//' <<<"$cmd")
		q=$(printf '%q' "$line")
		if [[ $cmd == *'&' ]]; then
			printf '%s >%q 2>&1 & bg_pids+=($!)\n' "${cmd%&}" "$work/bg-$n.log"
			printf 'printf "ok   line %%d: %%s\\n" %d %s\n' "$n" "$q"
			continue
		fi
		if [[ $cmd == export\ * || $cmd == cd\ * ]]; then
			printf '%s\n' "$cmd"
			printf 'if [ $? -ne 0 ]; then printf "FAIL line %%d: %%s\\n" %d %s; bad=1; finish; fi\n' "$n" "$q"
			continue
		fi
		printf 'out=$( %s 2>&1 ); rc=$?\n' "$cmd"
		if [[ $comment == *refused* ]]; then
			printf 'if [ $rc -eq 0 ]; then printf "FAIL line %%d: %%s: succeeded, the text says it is refused\\n" %d %s; echo "$out" | sed "s/^/    /"; bad=1; finish; fi\n' "$n" "$q"
		else
			printf 'if [ $rc -ne 0 ]; then printf "FAIL line %%d: %%s: exit %%d\\n" %d %s $rc; echo "$out" | tail -15 | sed "s/^/    /"; bad=1; finish; fi\n' "$n" "$q"
		fi
		if [[ $comment == prints\ * ]]; then
			printf 'if [ "$out" != %q ]; then printf "FAIL line %%d: %%s: printed \\"%%s\\"\\n" %d %s "$out"; bad=1; finish; fi\n' "${comment#prints }" "$n" "$q"
		fi
		printf 'printf "ok   line %%d: %%s\\n" %d %s\n' "$n" "$q"
	done
	echo 'finish'
}

for f in "$@"; do
	[ -f "$f" ] || { echo "doc-blocks: $f: no such file"; fail=1; continue; }
	extract "$f"
	found=0
	for b in "$work/$(basename "$f")"-*; do
		[ -f "$b" ] || continue
		found=1
		echo "== $f, block ${b##*-}"
		compile <"$b" >"$b.run"
		if ! bash "$b.run"; then
			fail=1
			for l in "$work"/bg-*.log; do
				[ -s "$l" ] && { echo "  background output (${l##*/}):"; tail -10 "$l" | sed 's/^/    /'; }
			done
		fi
		rm -f "$work"/bg-*.log
	done
	[ $found = 1 ] || { echo "doc-blocks: $f marks no block to run"; fail=1; }
done
exit $fail
