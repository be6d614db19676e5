#!/usr/bin/env bash
# Builds Kepler in build-run/ (the exporter only: no tests, no benchmarks) and runs it on this
# machine with its defaults: a meter when the machine has one (RAPL, its MSRs, hwmon), otherwise
# an estimate (it says so in its log). Metrics: http://localhost:28282/metrics
# Extra arguments go to kepler, e.g. --monitor.interval=2s or --config.file=my.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-build-deps.sh run
cmake -S . -B build-run -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKEPLER_BUILD_TESTS=OFF -DKEPLER_BUILD_BENCH=OFF -DKEPLER_SANITIZE= -DKEPLER_FUZZ=OFF
cmake --build build-run --target kepler -j"$(nproc)"
exec build-run/actors/kepler "$@"
