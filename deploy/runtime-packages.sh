#!/usr/bin/env bash
# Prints, one per line, the Debian packages that hold the shared libraries a binary loads
# (ldd), so that a runtime image installs exactly those. Used by deploy/Dockerfile.
#   deploy/runtime-packages.sh build/actors/kepler
set -euo pipefail

binary="${1:?usage: runtime-packages.sh BINARY}"
[ -x "$binary" ] || { echo "runtime-packages: $binary is not an executable file" >&2; exit 1; }

ldd_output="$(ldd "$binary")"
if grep -q 'not found' <<<"$ldd_output"; then
  echo "runtime-packages: unresolved libraries:" >&2
  grep 'not found' <<<"$ldd_output" >&2
  exit 1
fi

# "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x…)": dpkg may have registered the file
# under /usr/lib or /lib (merged /usr), so ask for both spellings.
owner() {
  local path="$1" canonical
  canonical="$(realpath "$path")"
  for candidate in "$path" "$canonical" "/usr$path" "${path#/usr}" "/usr$canonical" "${canonical#/usr}"; do
    if dpkg-query -S "$candidate" 2>/dev/null | head -n1 | cut -d: -f1; then return 0; fi
  done
  echo "runtime-packages: no package owns $path" >&2
  return 1
}

awk '$2 == "=>" && $3 ~ /^\// { print $3 }' <<<"$ldd_output" | while read -r library; do
  owner "$library"
done | sort -u
