#!/usr/bin/env bash
# Runs libFuzzer targets one after another and reports each (make fuzz,
# make check).
#   run-fuzz.sh --probe
#       exits 0 when clang builds and runs a libFuzzer program with ASan and
#       UBSan; otherwise says what is missing and exits 1.
#   run-fuzz.sh [--summary-file F] --seconds N FUZZ_BUILD 'PROGRAM [OPTION...]'...
#       PROGRAM is FUZZ_BUILD/.../fuzz_NAME. Target NAME fuzzes for N seconds
#       from its corpus FUZZ_BUILD/fuzz/corpus/NAME, seeded with
#       tests/fuzz-seeds/NAME/ (read, never written) and using
#       tests/fuzz-seeds/NAME.dict as its dictionary and
#       tests/fuzz-seeds/NAME.lsan as its LeakSanitizer suppressions when
#       there are. A crash, a sanitizer report, a leak, a slow input (over
#       10 s) or more than 2 GB of memory fails the target and leaves the
#       input in
#       FUZZ_BUILD/fuzz/artifacts/NAME/; libFuzzer's output is in
#       FUZZ_BUILD/fuzz/logs/NAME.log.
# Prints per target the executions, executions per second, coverage
# (cov: the code edges reached; ft: libFuzzer's finer features), the corpus
# and the time; then "N passed, N failed" (a target is one test).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" = --probe ]; then
	if ! command -v clang >/dev/null 2>&1; then
		echo "fuzz: skipped: clang is not installed (tools/deps.sh installs clang and libclang-rt-14-dev)"
		exit 1
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		>"$tmp/probe.c"
	if ! clang -fsanitize=fuzzer,address,undefined -o "$tmp/probe" "$tmp/probe.c" >"$tmp/log" 2>&1 ||
	   ! "$tmp/probe" -runs=1 >>"$tmp/log" 2>&1; then
		echo "fuzz: skipped: clang cannot build a libFuzzer program (libclang-rt-14-dev missing?):"
		tail -3 "$tmp/log" | sed 's/^/  /'
		exit 1
	fi
	exit 0
fi

summary=
if [ "${1:-}" = --summary-file ]; then summary=$2; shift 2; fi
[ "${1:-}" = --seconds ] && [ $# -ge 3 ] || {
	echo "usage: $0 [--summary-file F] --seconds N FUZZ_BUILD 'PROGRAM [OPTION...]'..." >&2
	exit 2
}
seconds=$2 fbuild=$3
shift 3
mkdir -p "$fbuild/fuzz/logs"
pass=0 fail=0
failed_names=()
report=$(mktemp)
trap 'rm -f "$report"' EXIT
printf '%-10s %14s %9s %7s %8s %12s %6s  %s\n' target executions exec/s cov ft corpus time result >"$report"

for spec in "$@"; do
	read -r -a words <<<"$spec"
	prog=${words[0]}
	opts=("${words[@]:1}")
	name=$(basename "$prog"); name=${name#fuzz_}
	corpus="$fbuild/fuzz/corpus/$name"
	artifacts="$fbuild/fuzz/artifacts/$name"
	log="$fbuild/fuzz/logs/$name.log"
	seeds="$src/tests/fuzz-seeds/$name"
	dict="$src/tests/fuzz-seeds/$name.dict"
	lsan="$src/tests/fuzz-seeds/$name.lsan"
	mkdir -p "$corpus" "$artifacts"
	args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
	      -artifact_prefix="$artifacts/" "${opts[@]}")
	[ -f "$dict" ] && args+=(-dict="$dict")
	dirs=("$corpus")
	[ -d "$seeds" ] && dirs+=("$seeds")
	echo "=== fuzz $name: ${seconds} s"
	start=$(date +%s)
	# Every report stops the target, with its stack; leaks of libraries
	# not ours can be suppressed by NAME.lsan.
	lsan_opts=
	[ -f "$lsan" ] && lsan_opts="suppressions=$lsan"
	ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	LSAN_OPTIONS=${LSAN_OPTIONS:-$lsan_opts} \
		"$prog" "${args[@]}" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|NEW|REDUCE|pulse|RELOAD)' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
	if [ $rc -eq 0 ] && [ -n "$execs" ]; then
		result=ok
		pass=$((pass + 1))
	else
		result="FAILED (exit $rc)"
		fail=$((fail + 1))
		failed_names+=("$name")
		echo "!!! fuzz $name failed; what libFuzzer said ($log):"
		grep -E '^(==[0-9]+==ERROR|SUMMARY:|.*runtime error:|fuzz_[a-z_]*: property|artifact_prefix|Test unit written|Base64:|INFO: Loaded|==[0-9]+== ?ERROR)' "$log" | head -20
		tail -25 "$log"
	fi
	printf '%-10s %14s %9s %7s %8s %12s %5ss  %s\n' "$name" "${execs:--}" "${rate:--}" \
		"${cov:--}" "${ft:--}" "${corp:--}" "$took" "$result" >>"$report"
	echo "    $name: ${execs:-?} executions, ${rate:-?}/s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}: $result"
done

echo "fuzz: ${seconds} s per target"
cat "$report"
[ ${#failed_names[@]} -eq 0 ] || echo "failing fuzz targets: ${failed_names[*]} (inputs in $fbuild/fuzz/artifacts/)"
[ -z "$summary" ] || echo "$pass $fail 0" >"$summary"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
