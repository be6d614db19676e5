#!/usr/bin/env bash
# Installs the dependencies, builds everything in build/ and runs every test (unit, actor,
# integration, deploy, layout) but the container image's, which test/run_image.sh runs (root,
# podman, a build of its own). The options are given, not taken from an earlier configure of
# build/; a run in which no test ran fails.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-build-deps.sh test
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKEPLER_BUILD_TESTS=ON -DKEPLER_BUILD_BENCH=ON -DKEPLER_SANITIZE= -DKEPLER_FUZZ=OFF
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure --no-tests=error -j"$(nproc)" -LE '^image$'
