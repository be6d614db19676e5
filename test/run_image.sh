#!/usr/bin/env bash
# The container image's tests (ctest label image): deploy/image/build.sh builds the image from
# deploy/Dockerfile (base images made from Debian's mirror with debootstrap, then podman; installs
# podman, runc and debootstrap when missing), and test/deploy/test_image.py runs it as the
# chart's two profiles run it. As root. A step of its own in CI (.ci/run): a cold build takes
# minutes that test/run_all.sh, which leaves these tests out, should not (README "The image").
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-build-deps.sh test
# Its own build directory, configured only: the tests use the image, not a build of the tree.
cmake -S . -B build-image -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKEPLER_BUILD_TESTS=ON -DKEPLER_BUILD_BENCH=OFF -DKEPLER_SANITIZE= -DKEPLER_FUZZ=OFF >/dev/null
ctest --test-dir build-image --output-on-failure --no-tests=error -L '^image$'
