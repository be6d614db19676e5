#!/usr/bin/env bash
# The test suite under a sanitizer, built with clang in its own build directory:
#
#   test/run_sanitized.sh asan [CTEST-OPTION...]   AddressSanitizer + UndefinedBehaviorSanitizer
#                                                  (and LeakSanitizer), in build-asan
#   test/run_sanitized.sh tsan [CTEST-OPTION...]   ThreadSanitizer, in build-tsan
#
# CTEST-OPTIONs select tests, e.g. `-LE deploy` or `-R 'integration_(daemon|web)'`. The
# integration suites run the instrumented `kepler`. Every report, from a test executable or from
# a daemon a test started (any user), is written under <build>/sanitizer-logs/; the run fails
# when a test fails or when any report was written. Suppressions (test/sanitizers/) cover only
# third-party code that is not instrumented; findings in our code are fixed, not suppressed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
kind=${1:-}
[ $# -gt 0 ] && shift
case "$kind" in
  asan) sanitize=address,undefined ;;
  tsan) sanitize=thread ;;
  *) echo "usage: $0 asan|tsan [ctest options...]" >&2; exit 2 ;;
esac
build=$root/build-$kind
jobs=$(nproc)

# -O1 and line tables only: readable stacks, a third of the compile time of -O2 -g.
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  -DKEPLER_SANITIZE="$sanitize" -DKEPLER_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs"

logs=$build/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
chmod 1777 "$logs"  # daemons started as uid 65534 write their reports here too
supp=$root/test/sanitizers
common=halt_on_error=1:print_stacktrace=1:log_path=$logs/$kind
export ASAN_OPTIONS=$common:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1
export LSAN_OPTIONS=suppressions=$supp/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=$common:suppressions=$supp/ubsan.supp
export TSAN_OPTIONS=$common:second_deadlock_stack=1:suppressions=$supp/tsan.supp:print_suppressions=0

export KEPLER_SANITIZER=$kind  # integration tests skip memory budgets (kepler_harness.sanitizer)

wrapper=()
# ThreadSanitizer of LLVM 14 cannot map its shadow with more than 28 bits of mmap
# randomisation (newer kernels default to 32): run without address randomisation there.
if [ "$kind" = tsan ] && [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ]; then
  wrapper=(setarch "$(uname -m)" -R)
fi

status=0
"${wrapper[@]}" ctest --test-dir "$build" --output-on-failure -j"$jobs" "$@" || status=$?

reports=("$logs"/*)
if [ -e "${reports[0]}" ]; then
  echo "==== ${#reports[@]} sanitizer report(s) in $logs:"
  for report in "${reports[@]}"; do
    echo "---- $report"
    head -80 "$report"
  done
  status=1
fi
exit $status
