#!/usr/bin/env bash
# make mutants: plants each deliberate one-line bug of tests/mutants/*.list
# in a scratch copy of the tree, builds, runs the tests the mutant names
# and prints a table of which were caught. Exit status 0 only when every
# mutant was caught (and the unmutated tests passed).
#
#   run.sh [--list FILE]... [--only ID]... [--keep-going]
#
# A list holds blocks separated by blank lines ('#' starts a comment):
#   id:    scsiback-abort-lies
#   file:  scsiback/cmd.c
#   from:  text that occurs exactly once in that file (part of one line)
#   to:    its replacement
#   tests: scsiback/test_scsiback_iscsi   (binaries under build/tests/;
#          BIN=GLOB runs only the tests GLOB names, for a program that
#          reads VSCSI_TEST_ONLY)
#   what:  the promise the mutant breaks
# Scratch tree and logs: build/mutants/ (plain build: the sanitizers add
# time, not catches).
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$SRC/build/mutants
TREE=$WORK/tree
lists=() only=()
while [ $# -gt 0 ]; do
	case $1 in
	--list) lists+=("$2"); shift 2 ;;
	--only) only+=("$2"); shift 2 ;;
	-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "mutants: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
[ ${#lists[@]} -gt 0 ] || lists=("$SRC"/tests/mutants/*.list)

# --- parse: one record per mutant, fields joined by a unit separator
US=$'\x1f'
records=()
parse_list() {
	local list=$1 line key val id= file= from= to= tests= what= n=0 start=0
	flush() {
		[ -n "$id$file$from$to$tests" ] || return 0
		local missing=
		for k in id file from tests; do
			[ -n "${!k}" ] || missing+=" $k"
		done
		if [ -n "$missing" ]; then
			echo "mutants: $list:$start: mutant '${id:-?}' lacks:$missing" >&2
			exit 2
		fi
		records+=("$id$US$file$US$from$US$to$US$tests$US$what$US$list:$start")
		id= file= from= to= tests= what=
	}
	[ -r "$list" ] || { echo "mutants: cannot read $list" >&2; exit 2; }
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		case $line in
		'#'*) continue ;;
		'') flush; continue ;;
		esac
		key=${line%%:*}
		if [ "$key" = "$line" ]; then
			echo "mutants: $list:$n: no 'key:' in '$line'" >&2; exit 2
		fi
		val=${line#*:}
		val=${val#"${val%%[! ]*}"}    # leading blanks only: 'to:' may end in one
		[ -n "$id$file$from$to$tests$what" ] || start=$n
		case $key in
		id|file|from|to|tests|what) printf -v "$key" '%s' "$val" ;;
		*) echo "mutants: $list:$n: unknown key '$key'" >&2; exit 2 ;;
		esac
	done <"$list"
	flush
}
for l in "${lists[@]}"; do parse_list "$l"; done
[ ${#records[@]} -gt 0 ] || { echo "mutants: no mutants listed" >&2; exit 2; }

selected=()
for r in "${records[@]}"; do
	IFS=$US read -r id _ <<<"$r"
	if [ ${#only[@]} -gt 0 ]; then
		keep=0
		for o in "${only[@]}"; do [ "$o" = "$id" ] && keep=1; done
		[ $keep = 1 ] || continue
	fi
	selected+=("$r")
done
[ ${#selected[@]} -gt 0 ] || { echo "mutants: no mutant matches --only" >&2; exit 2; }

# --- the scratch tree, built once unmutated
mkdir -p "$WORK/logs"
echo "mutants: scratch tree $TREE"
# The sources afresh (the scratch build/ stays: make rebuilds what changed).
mkdir -p "$TREE"
find "$TREE" -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} + || exit 2
tar -C "$SRC" --exclude=./build --exclude=./build-san --exclude=./build-fuzz --exclude=./.git \
	-cf - . | tar -C "$TREE" -xf - || exit 2
build() { make -C "$TREE" -j2 --no-print-directory all >"$1" 2>&1; }
if ! build "$WORK/logs/build-clean.log"; then
	echo "mutants: the unmutated tree does not build (see $WORK/logs/build-clean.log)" >&2
	exit 2
fi

# Runs test binaries (names under build/tests/) in the scratch tree.
# Returns 0 when all passed.
run_tests() {
	local log=$1 t rc=0
	shift
	: >"$log"
	for t in "$@"; do
		local only=
		[ "$t" = "${t#*=}" ] || only=${t#*=}
		(cd "$TREE" || exit
		 if [ -n "$only" ]; then export VSCSI_TEST_ONLY=$only; else unset VSCSI_TEST_ONLY; fi
		 bash tests/run-tests.sh build "build/tests/${t%%=*}") >>"$log" 2>&1
		tail -1 "$log" | grep -qE '^[1-9][0-9]* passed, 0 failed' || rc=1
	done
	return $rc
}

# The tests the mutants name must pass unmutated, or a failure says nothing.
declare -A base_ok=()
for r in "${selected[@]}"; do
	IFS=$US read -r _ _ _ _ tests _ <<<"$r"
	for t in $tests; do
		[ -n "${base_ok[$t]:-}" ] && continue
		if [ ! -x "$TREE/build/tests/${t%%=*}" ]; then
			echo "mutants: no test program build/tests/${t%%=*}" >&2; exit 2
		fi
		local_log=$WORK/logs/baseline-$(echo "$t" | tr -c 'A-Za-z0-9_.\n-' _).log
		printf 'baseline %-40s ' "$t"
		if run_tests "$local_log" "$t"; then
			base_ok[$t]=1; echo passed
		else
			base_ok[$t]=0; echo "FAILED (see $local_log)"
		fi
	done
done
for t in "${!base_ok[@]}"; do
	[ "${base_ok[$t]}" = 1 ] || { echo "mutants: unmutated tests fail; nothing to compare" >&2; exit 1; }
done

# --- one mutant at a time
caught=0 missed=0 invalid=0
table=()
for r in "${selected[@]}"; do
	IFS=$US read -r id file from to tests what where <<<"$r"
	f=$TREE/$file
	log=$WORK/logs/$id.log
	verdict=
	if [ ! -f "$f" ]; then
		verdict="INVALID (no file $file)"
	else
		cp -p "$f" "$WORK/orig"
		if ! FROM=$from TO=$to python3 - "$f" <<'EOF'
import os, sys
p = sys.argv[1]
s = open(p, encoding="utf-8").read()
n = s.count(os.environ["FROM"])
if n != 1:
    sys.stderr.write("'from' occurs %d times\n" % n)
    sys.exit(1)
open(p, "w", encoding="utf-8").write(s.replace(os.environ["FROM"], os.environ["TO"]))
EOF
		then
			verdict="INVALID ('from' not found exactly once in $file)"
		elif ! build "$log"; then
			verdict="INVALID (does not build: $log)"
		elif run_tests "$log.tests" $tests; then
			verdict=MISSED
		else
			verdict=caught
		fi
		# Back as it was, with a new time so make rebuilds what it touched.
		cp "$WORK/orig" "$f"
		touch "$f"
	fi
	case $verdict in
	caught) caught=$((caught + 1)) ;;
	MISSED) missed=$((missed + 1)) ;;
	*) invalid=$((invalid + 1)) ;;
	esac
	printf '%-8s %-36s %s\n' "${verdict%% *}" "$id" "$what"
	table+=("$(printf '| %s | %s | `%s` | %s | %s |' "$id" "$what" "$file" "$tests" "$verdict")")
done
build "$WORK/logs/build-restored.log"

echo
echo "| mutant | promise | file | tests | result |"
echo "|---|---|---|---|---|"
printf '%s\n' "${table[@]}"
echo
echo "mutants: $caught caught, $missed missed, $invalid invalid (of ${#selected[@]})"
[ $missed -eq 0 ] && [ $invalid -eq 0 ]
