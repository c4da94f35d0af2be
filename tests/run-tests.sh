#!/usr/bin/env bash
# Runs cmocka test programs one after another and adds up their results.
#   run-tests.sh [--summary-file F] BUILD_DIR TEST...
# Each test gets BUILD_DIR in VSCSI_BUILD so it can find the programs it
# starts (xensimd, scsiback...). A test that dies before printing its cmocka
# summary counts as one failure. Prints "N passed, N failed" last.
set -u
summary=
if [ "${1:-}" = --summary-file ]; then summary=$2; shift 2; fi
build=$1; shift
export VSCSI_BUILD=$(cd "$build" && pwd)
export VSCSI_SRC=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fail=0 skip=0
failed_names=()
logdir="$build/test-logs"; mkdir -p "$logdir"
# A program may run several groups (one summary each): their sum.
sum_lines() { awk '{ n += $1 } END { if (NR) print n }'; }
for t in "$@"; do
	name=$(basename "$t")
	log="$logdir/$name.log"
	echo "=== $build: $name"
	# timeout leads its own process group: whatever the test started and
	# left behind (a crashed test skips its teardown) dies with the group.
	timeout --kill-after=10 ${VSCSI_TEST_TIMEOUT:-600} "$t" >"$log" 2>&1 &
	tpid=$!
	wait $tpid
	rc=$?
	kill -KILL -- -$tpid 2>/dev/null
	grep -E '^\[ *(RUN|OK|FAILED|SKIPPED|PASSED|ERROR) *\]|^\[=+\]' "$log" | grep -v '^\[ RUN' || true
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | sum_lines)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | sum_lines)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | sum_lines)
	if [ -z "$p" ] && [ -z "$f" ]; then
		echo "!!! $name exited $rc without a cmocka summary; last lines of $log:"
		tail -20 "$log"
		fail=$((fail + 1)); failed_names+=("$name"); continue
	fi
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0})); skip=$((skip + ${s:-0}))
	if [ "${f:-0}" -gt 0 ] || [ $rc -ne 0 ]; then
		failed_names+=("$name")
		[ "${f:-0}" -gt 0 ] || { fail=$((fail + 1)); echo "!!! $name exited $rc"; }
		echo "--- last lines of $log:"; tail -30 "$log"
	fi
done
[ ${#failed_names[@]} -eq 0 ] || echo "failing programs in $build: ${failed_names[*]}"
[ -z "$summary" ] || echo "$pass $fail $skip" >"$summary"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
