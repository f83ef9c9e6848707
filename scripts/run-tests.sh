#!/usr/bin/env bash
# Runs cmocka test binaries one after another and prints one closing line,
# "tests: N passed, N failed", summed over every binary's cmocka report.
set -u
passed=0; failed=0; broken=()
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for t in "$@"; do
  echo "=== $t"
  if [ "${t%.sh}" != "$t" ]; then
    # A shell self-check of a test tool: it ends with "N passed, N failed".
    out=$(bash "$t" "${VX_BUILD:-build}/fake-apiserver" --no-perf 2>&1); rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, [0-9]* failed.*/\1/p' | tail -n1)
    f=$(printf '%s\n' "$out" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p' | tail -n1)
  else
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
  fi
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ $rc -ne 0 ] && [ "${f:-0}" = 0 ]; then failed=$((failed + 1)); broken+=("$t (exit $rc)"); fi
  [ $rc -ne 0 ] && [ "${f:-0}" != 0 ] && broken+=("$t")
done
[ ${#broken[@]} -gt 0 ] && printf 'FAILED: %s\n' "${broken[@]}"
echo "tests: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
