#!/usr/bin/env bash
# Checks that C/C++ files match the repository's .clang-format (clang-format 14):
#
#   test/layout/check_format.sh [--root DIR] [FILE...]
#
# FILEs are relative to the root (default: this script's repository); without them, every file
# that `git ls-files` lists. Never checked: the eBPF program (*.bpf.c, whose first include must
# stay vmlinux.h) and the generated bpf/vmlinux/. Prints the files that differ and the command
# that fixes them; exits 1 if any differ.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${1:-}" = --root ]; then
  root=$(cd "${2:?usage: $0 [--root DIR] [FILE...]}" && pwd)
  shift 2
fi
cd "$root"
style=file:$root/.clang-format

command -v clang-format >/dev/null || { echo "check_format: clang-format not found (deploy/install-build-deps.sh test installs it)"; exit 1; }
clang-format --style="$style" --dump-config >/dev/null  # an unknown option: its message, then exit

if [ $# -gt 0 ]; then
  candidates=("$@")
else
  listing=$(git ls-files -- '*.c' '*.cc' '*.cpp' '*.h' '*.hh' '*.hpp')
  mapfile -t candidates <<<"$listing"
fi
files=()
for file in "${candidates[@]}"; do
  case "$file" in
    *.bpf.c | bpf/vmlinux/*) ;;
    *) [ -f "$file" ] && files+=("$file") ;;  # a deleted file is still tracked
  esac
done
[ ${#files[@]} -gt 0 ] || { echo "check_format: no files to check"; exit 0; }

output=$(clang-format --dry-run --Werror --style="$style" "${files[@]}" 2>&1) && exit 0
differ=$(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' <<<"$output" | sort -u)
if [ -z "$differ" ]; then
  echo "$output"  # clang-format failed for another reason
  exit 1
fi
echo "check_format: $(wc -l <<<"$differ") file(s) differ from .clang-format:"
echo "$differ" | sed 's/^/  /'
echo "Fix them from the repository root with:"
echo "  clang-format -i $(tr '\n' ' ' <<<"$differ")"
exit 1
