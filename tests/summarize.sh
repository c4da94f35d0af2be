#!/usr/bin/env bash
# Adds up the per-flavour summaries of make check into the final line.
pass=0 fail=0 skip=0
for f in "$@"; do
	if [ ! -s "$f" ]; then fail=$((fail + 1)); echo "missing summary $f"; continue; fi
	read -r p fl s <"$f"
	pass=$((pass + p)); fail=$((fail + fl)); skip=$((skip + s))
done
echo "check: plain and sanitizer builds and the short fuzz runs together"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
