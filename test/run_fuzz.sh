#!/usr/bin/env bash
# Builds the libFuzzer targets of test/fuzz (clang, ASan + UBSan, in build-fuzz) and runs each
# for SECONDS (default 60, as in CI; by hand e.g. `test/run_fuzz.sh 3600`), one target per CPU
# at a time.
#
#   test/run_fuzz.sh [SECONDS] [TARGET...]      TARGET: procfs cgroup powercap pod_list config
#                                               web_config http_request (default: all)
#
# Seeds: test/fuzz/seeds/<target>, the fixtures (test/fixtures/…) and this machine's
# own /proc files, copied to build-fuzz/seeds/<target> at every run. What the fuzzer finds is kept
# in build-fuzz/corpus/<target> and reused by later runs. A crash, leak, timeout or broken
# invariant is saved as build-fuzz/crashes/<target>-<kind>-<sha1> and fails the run; reproduce it
# with `build-fuzz/test/fuzz/fuzz_<target> <file>`, then add it as a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-60}
[ $# -gt 0 ] && shift
all_targets=(procfs cgroup powercap pod_list config web_config http_request)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
build=${KEPLER_FUZZ_BUILD:-$root/build-fuzz}
fixtures=${KEPLER_FIXTURES_DIR:-$root/test/fixtures}
jobs=${KEPLER_FUZZ_JOBS:-$(nproc)}

# ---------------------------------------------------------------------------------- build
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  -DKEPLER_FUZZ=ON -DKEPLER_BUILD_TESTS=OFF -DKEPLER_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target fuzz_targets -j "$jobs"

# ---------------------------------------------------------------------------------- seeds
copy_seeds() {  # <target> <files...>: each readable, non-empty file becomes a seed
  local target=$1 file seed n=0
  shift
  for file in "$@"; do
    [ -r "$file" ] || continue
    n=$((n + 1))
    seed=$build/seeds/$target/$(basename "$file").$n
    cat "$file" >"$seed" 2>/dev/null || true
    [ -s "$seed" ] || rm -f "$seed"  # /proc files show size 0 until read: test the copy
  done
}

seeds_procfs() {
  copy_seeds procfs "$fixtures"/procfs/*/*.stat "$fixtures"/procfs/*/*.cpuinfo \
    /proc/stat /proc/self/stat /proc/self/status /proc/self/cmdline /proc/cpuinfo /proc/1/cmdline
}

seeds_cgroup() {
  copy_seeds cgroup "$fixtures"/cgroup/*.cgroup "$fixtures"/cgroup/*.txt /proc/self/cgroup /proc/self/mounts
}

seeds_powercap() {  # name, range and two readings of each zone of the fixture trees
  local energy dir n=0
  while IFS= read -r energy; do
    dir=$(dirname "$energy")
    [ -r "$dir/name" ] && [ -r "$dir/max_energy_range_uj" ] || continue
    n=$((n + 1))
    { cat "$dir/name" "$dir/max_energy_range_uj" "$energy"; printf '%s\t1000\n' "$(( $(cat "$energy") + 5000000 ))"; } \
      >"$build/seeds/powercap/zone.$n"
  done < <(find "$fixtures/powercap" -name energy_uj)
}

seeds_pod_list() {  # pod lists, and each line of a watch stream as one event
  local stream n=0
  copy_seeds pod_list "$fixtures"/kubelet-pods/*.json
  for stream in "$fixtures"/kubelet-pods/*.jsonl; do
    [ -r "$stream" ] || continue
    while IFS= read -r line; do
      n=$((n + 1))
      printf '%s\n' "$line" >"$build/seeds/pod_list/event.$n"
    done <"$stream"
  done
}

seeds_config() { copy_seeds config deploy/systemd/config.yaml deploy/k8s/config.yaml; }
seeds_web_config() { :; }
seeds_http_request() { :; }

# ---------------------------------------------------------------------------------- run
rm -rf "$build/seeds" "$build/logs" "$build/tmp"
mkdir -p "$build/crashes" "$build/logs" "$build/tmp"
touch "$build/logs/started"  # crashes saved by earlier runs are older
for target in "${targets[@]}"; do
  [ -x "$build/test/fuzz/fuzz_$target" ] || { echo "unknown fuzz target: $target" >&2; exit 2; }
  mkdir -p "$build/seeds/$target" "$build/corpus/$target"
  cp test/fuzz/seeds/"$target"/* "$build/seeds/$target/" 2>/dev/null || true
  "seeds_$target"
done

export TMPDIR=$build/tmp  # the targets' scratch files
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_target() {
  local target=$1 dict=()
  [ -f "test/fuzz/dict/$target.dict" ] && dict=("-dict=test/fuzz/dict/$target.dict")
  "$build/test/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/crashes/$target-" "${dict[@]}" \
    "$build/corpus/$target" "$build/seeds/$target" >"$build/logs/$target.log" 2>&1
}

echo "fuzzing ${targets[*]} for ${seconds} s each, $jobs at a time"
declare -A pids
failed=()
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_target "$target" &
  pids[$target]=$!
done
for target in "${targets[@]}"; do
  wait "${pids[$target]}" || failed+=("$target")
done

printf '%-13s %10s %8s %7s %7s  %s\n' target runs exec/s cov corpus result
for target in "${targets[@]}"; do
  log=$build/logs/$target.log
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corpus=$(find "$build/corpus/$target" -type f | wc -l)
  result=ok
  [[ " ${failed[*]} " == *" $target "* ]] && result="FAILED (see $log)"
  printf '%-13s %10s %8s %7s %7s  %s\n' "$target" "${runs:-?}" "${speed:-?}" "${cov:-?}" "$corpus" "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
  for target in "${failed[@]}"; do
    echo "==== $target: $build/logs/$target.log (last lines)"
    tail -40 "$build/logs/$target.log"
  done
  find "$build/crashes" -type f -newer "$build/logs/started" | sed 's/^/saved: /'
  exit 1
fi
