#!/usr/bin/env bash
# Makes the runtime image's root filesystem in deploy/Dockerfile's runtime-root stage (on
# debian:12-slim): installs PACKAGEs and copies them, and every package they depend on, into ROOT.
#
#   deploy/image/runtime-root.sh ROOT PACKAGE...
#
# A package is copied as dpkg installed it (its own file list, so debian:12-slim's exclusions of
# docs, man pages and translations hold) and gets its entry in ROOT/var/lib/dpkg/status, so image
# scanners see exact versions. Nothing else comes along, no apt, dpkg, perl or bash (debian:12-slim
# alone is about 75 MB; this root with kepler about 31 MB). The debug tools are busybox's sh, ls,
# cat, grep and a few viewers (README "Troubleshooting"); no network tools.
set -euo pipefail

root=${1:?usage: runtime-root.sh ROOT PACKAGE...}
shift
[ $# -gt 0 ] || { echo "runtime-root: no packages given" >&2; exit 2; }
wanted=("$@" busybox base-files)   # base-files: /etc/os-release, which scanners read
applets=(sh ls cat grep head tail wc ps)

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

# Virtual package -> an installed package that provides it ("awk" -> mawk).
declare -A provider=()
while IFS='|' read -r status package provides; do
  [ "$status" = "ii " ] || continue
  IFS=',' read -ra names <<<"$provides"
  for name in "${names[@]}"; do
    name=$(awk '{ print $1 }' <<<"$name")
    [ -z "$name" ] || [ -n "${provider[$name]:-}" ] || provider[$name]=$package
  done
done < <(dpkg-query -W -f='${db:Status-Abbrev}|${Package}|${Provides}\n')

# The installed package that satisfies one dependency, "a (>= 1) | b:any | c": the first
# alternative installed under its own name, else the first one an installed package provides.
satisfying() {
  local alternative name
  IFS='|' read -ra alternatives <<<"$1"
  for alternative in "${alternatives[@]}"; do
    name=$(awk '{ sub(/:.*/, "", $1); print $1 }' <<<"$alternative")
    if installed "$name"; then echo "$name"; return; fi
  done
  for alternative in "${alternatives[@]}"; do
    name=$(awk '{ sub(/:.*/, "", $1); print $1 }' <<<"$alternative")
    if [ -n "${provider[$name]:-}" ]; then echo "${provider[$name]}"; return; fi
  done
  echo "runtime-root: nothing installed satisfies \"$1\"" >&2
  return 1
}

# Pre-Depends and Depends, followed to the end.
declare -A seen=()
queue=("${wanted[@]}")
while [ ${#queue[@]} -gt 0 ]; do
  package=${queue[0]}
  queue=("${queue[@]:1}")
  [ -z "${seen[$package]:-}" ] || continue
  installed "$package" || { echo "runtime-root: $package is not installed" >&2; exit 1; }
  seen[$package]=1
  dependencies=$(dpkg-query -W -f='${Pre-Depends}, ${Depends}' "$package")
  IFS=',' read -ra groups <<<"$dependencies"
  for group in "${groups[@]}"; do
    [ -n "${group// /}" ] || continue
    dependency=$(satisfying "$group")
    queue+=("$dependency")
  done
done
packages=($(printf '%s\n' "${!seen[@]}" | sort))

# Debian 12 merges /usr: /bin, /sbin, /lib and /lib64 are links into /usr. Files are copied by
# their /usr path, so that nothing is extracted through a link.
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" "$root/usr/lib64"
for top in bin sbin lib lib64; do ln -sfn "usr/$top" "$root/$top"; done
list=$(mktemp)
dpkg-query -L "${packages[@]}" | grep '^/' | sed -E 's#^/(bin|sbin|lib|lib64)(/|$)#/usr/\1\2#' |
  while read -r path; do
    if [ -L "$path" ] || [ -f "$path" ] || { [ -d "$path" ] && [ "$path" != / ]; }; then echo "${path#/}"; fi
  done | sort -u >"$list"
tar -C / --no-recursion -cf - -T "$list" | tar -C "$root" -xf -
rm "$list"

mkdir -p "$root/var/lib/dpkg" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/run"
chmod 1777 "$root/tmp"
dpkg-query -s "${packages[@]}" >"$root/var/lib/dpkg/status"
for applet in "${applets[@]}"; do ln -sfn busybox "$root/usr/bin/$applet"; done
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
echo 'include /etc/ld.so.conf.d/*.conf' >"$root/etc/ld.so.conf"
ldconfig -r "$root"
rm -rf "$root/var/cache/ldconfig"   # ldconfig's own cache of what it scanned
echo "runtime-root: ${#packages[@]} packages in $root: ${packages[*]}"
