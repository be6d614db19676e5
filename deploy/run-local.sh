#!/usr/bin/env bash
# Builds Kepler and runs it on this machine with its defaults: RAPL when the machine has it,
# otherwise the fake CPU meter (it says so in its log). Metrics: http://localhost:28282/metrics
# Extra arguments go to kepler, e.g. --monitor.interval=2s or --config.file=my.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-build-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEPLER_BUILD_TESTS=OFF -DKEPLER_BUILD_BENCH=OFF
cmake --build build --target kepler -j"$(nproc)"
exec build/actors/kepler "$@"
