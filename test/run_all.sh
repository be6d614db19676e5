#!/usr/bin/env bash
# Installs the dependencies, builds everything and runs every test (unit, actor, integration).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-build-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
