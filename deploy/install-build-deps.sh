#!/usr/bin/env bash
# Installs everything Kepler needs to build, run and test on Debian 12 (bookworm).
# Idempotent: packages already present are not fetched again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  libcaf-dev libboost1.74-dev libyaml-cpp-dev
  libcli11-dev libspdlog-dev libfmt-dev catch2
  libsimdjson-dev  # pod lists and watch events from the kubelet / API server
  libssl-dev openssl  # TLS: the metrics endpoint, the kubelet and the API server; test certificates
  zlib1g-dev libcrypt-dev  # the metrics endpoint: gzip, bcrypt (basic auth) via libxcrypt
  libbpf-dev bpftool clang llvm  # eBPF probes: libbpf, skeletons and vmlinux.h, BPF compiler, llvm-strip
  python3 prometheus  # integration tests: the harness and a real Prometheus server (+ promtool)
  python3-fusepy fuse3  # fault-injection tests: a FUSE powercap tree (module fusepy) and fusermount3
  nodejs unzip  # deploy tests: npm packages with helm, kubectl and the Kubernetes schemas
  prometheus-cpp-dev  # benchmark: prometheus-cpp's text serialisation against our writer (bench/prometheus_cpp_bench.cpp)
  libclang-rt-14-dev  # sanitizer and libFuzzer runtimes for clang (test/run_sanitized.sh, test/run_fuzz.sh)
  util-linux libcap2-bin  # least-privilege tests: setpriv, unshare, setcap
)
# Debian's npm, unless npm is already there (NodeSource's nodejs package ships its own).
command -v npm >/dev/null || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
