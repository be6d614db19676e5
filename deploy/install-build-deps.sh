#!/usr/bin/env bash
# Installs what Kepler needs on Debian 12 (bookworm):
#
#   deploy/install-build-deps.sh run    to build and run the exporter (deploy/run-local.sh)
#   deploy/install-build-deps.sh test   that and what the tests add (test/run_all.sh; the default)
#
# Idempotent: packages already present are not fetched again.
set -euo pipefail

what=${1:-test}
packages=(  # building and running
  build-essential cmake ninja-build pkg-config git ca-certificates
  libcaf-dev libboost1.74-dev libyaml-cpp-dev
  libcli11-dev libspdlog-dev libfmt-dev
  libsimdjson-dev  # pod lists and watch events from the kubelet / API server
  libssl-dev  # TLS: the metrics endpoint, the kubelet and the API server
  libdeflate-dev libcrypt-dev  # the metrics endpoint: gzip, bcrypt (basic auth) via libxcrypt
  libbpf-dev bpftool clang llvm  # eBPF probes: libbpf, skeletons and vmlinux.h, BPF compiler, llvm-strip
)
test_packages=(  # what testing adds
  catch2 clang-format  # unit tests; the format check (test/layout)
  prometheus-cpp-dev  # benchmarks: prometheus-cpp's exposition against ours (bench/prometheus_cpp_bench)
  openssl curl zlib1g-dev  # test certificates; requests in the web tests; zlib inflates gzip in tests
  testssl.sh  # the TLS defaults scanned as a client would (test/integration/test_tls_scan.py)
  python3 prometheus  # integration tests: the harness and a real Prometheus server (+ promtool)
  python3-fusepy fuse3  # fault-injection tests: a FUSE powercap tree (module fusepy) and fusermount3
  nodejs unzip  # deploy tests: npm packages with helm, kubectl and the Kubernetes schemas
  libclang-rt-14-dev  # sanitizer and libFuzzer runtimes for clang (test/run_sanitized.sh, test/run_fuzz.sh)
  util-linux libcap2-bin  # least-privilege tests: setpriv, unshare, setcap
  chromium  # the page at / in a real browser (test/integration/test_ui.py, headless)
)
case "$what" in
  run) ;;
  test)
    packages+=("${test_packages[@]}")
    # Debian's npm, unless npm is already there (NodeSource's nodejs package ships its own).
    command -v npm >/dev/null || packages+=(npm)
    ;;
  *) echo "usage: $0 [run|test]" >&2; exit 2 ;;
esac

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
