#!/usr/bin/env bash
# Turns iscsi-test-cu's verbose output into one "Suite.Test outcome" line
# per test (outcome: pass, skip, fail, softfail). CUnit counts [SKIPPED]
# tests, and [FAILED] ones that did not assert, as passed: this does not.
#   testcu-outcomes.sh LOG            per-test lines
#   testcu-outcomes.sh --counts LOG   "pass N skip N fail N softfail N"
set -u
counts=0
[ "${1:-}" = --counts ] && { counts=1; shift; }
[ $# -eq 1 ] || { echo "usage: $0 [--counts] LOG" >&2; exit 2; }
awk -v counts=$counts '
function flush() {
	if (test == "") return
	o = "pass"
	if (failed) o = "fail"
	else if (soft) o = "softfail"
	else if (skipped) o = "skip"
	if (counts) n[o]++
	else print suite "." test " " o
	test = ""
}
/^Suite: / { flush(); suite = $2; next }
/^  Test: / {
	flush()
	line = $0
	sub(/^  Test: /, "", line)
	test = line
	sub(/ \.\.\..*/, "", test)
	failed = soft = skipped = 0
	rest = $0
}
{
	if (test == "") next
	if (index($0, "[SKIPPED]")) skipped = 1
	if (index($0, "[FAILED]")) soft = 1
	if ($0 ~ /^FAILED$/ || $0 ~ /\.\.\.FAILED$/) failed = 1
}
/^Run Summary:/ { flush() }
END {
	flush()
	if (counts) printf "pass %d skip %d fail %d softfail %d\n", n["pass"], n["skip"], n["fail"], n["softfail"]
}' "$1"
