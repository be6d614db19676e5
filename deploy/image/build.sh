#!/usr/bin/env bash
# Builds Kepler's container image from deploy/Dockerfile with podman on a machine that reaches no
# container registry, only Debian's mirror: the base images the Dockerfile's FROM lines name
# (debian:12, debian:12-slim) are made here with debootstrap, as Debian's official images are,
# and imported under those names; then `podman build --pull=never -f deploy/Dockerfile .`.
# Where a registry is reachable, `docker build -f deploy/Dockerfile .` builds the same recipe.
#
#   deploy/image/build.sh [--tag NAME] [--jobs N] [--source URL] [--refresh-base]
#
#   --tag           the image's name (default kepler:<CMake project version>: what the chart runs)
#   --jobs          compile jobs in the build stage (default: the number of CPUs)
#   --source        org.opencontainers.image.source (default: the URL of git remote "origin")
#   --refresh-base  make the base images again: they are kept between runs, and Debian's
#                   security updates to them arrive only with new ones
#
# As root (podman here runs rootful). Installs podman, runc and debootstrap when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

mirror=http://deb.debian.org/debian
suite=bookworm   # Debian 12, what the FROM lines name
version=$(sed -n 's/^project(kepler VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "build.sh: no project(kepler VERSION …) in CMakeLists.txt" >&2; exit 1; }
tag=kepler:$version
jobs=$(nproc)
source_url=$(git remote get-url origin 2>/dev/null || true)
refresh_base=false
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=${2:?--tag needs a name}; shift 2 ;;
    --jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
    --source) source_url=${2:?--source needs a URL}; shift 2 ;;
    --refresh-base) refresh_base=true; shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "usage: $0 [--tag NAME] [--jobs N] [--source URL] [--refresh-base]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "build.sh: run as root (rootful podman, debootstrap)" >&2; exit 1; }

missing=()
for tool in podman:podman runc:runc debootstrap:debootstrap; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
podman=("$root/deploy/image/podman.sh")

# The names the FROM lines pull (not earlier stages, not scratch).
bases=$(awk 'toupper($1) == "FROM" {
               image = $2; if (image ~ /^--/) image = $3
               if (!(image in stages) && image != "scratch") print image
               if (toupper($(NF - 1)) == "AS") stages[$NF] = 1
             }' deploy/Dockerfile | sort -u)
declare -A reference=([debian:12]=docker.io/library/debian:12 [debian:12-slim]=docker.io/library/debian:12-slim)
for base in $bases; do
  [ -n "${reference[$base]:-}" ] || { echo "build.sh: deploy/Dockerfile uses FROM $base; this script makes only ${!reference[*]}" >&2; exit 1; }
done

work=$(mktemp -d /var/tmp/kepler-image.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Debian's minbase root, configured as the official debian:12 image is: the release, updates and
# security suites, every update applied, no package lists or caches.
make_rootfs() {
  local rootfs=$1
  echo "build.sh: debootstrap $suite from $mirror"
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; echo "build.sh: debootstrap failed (log above)" >&2; return 1; }
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror}-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  chroot "$rootfs" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get dist-upgrade -y -qq >/dev/null
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/* \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old "$rootfs/etc/resolv.conf"
  : >"$rootfs/etc/machine-id"   # each container gets its own
}

# debian:12-slim is debian:12 without documentation (but copyrights), man and info pages and
# translations, now and for every package installed later.
slim() {
  local rootfs=$1
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EXCLUDES'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EXCLUDES
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{man,info,locale,lintian,linda}/*
}

import_image() {
  local rootfs=$1 name=$2
  tar --numeric-owner --xattrs -C "$rootfs" -cf - . |
    "${podman[@]}" import --change 'CMD ["bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --message "debootstrap --variant=minbase $suite $mirror (deploy/image/build.sh)" - "$name" >/dev/null
  echo "build.sh: made $name ($("${podman[@]}" image inspect --format '{{.Size}}' "$name") bytes; ${SECONDS} s so far)"
}

needed=()
for base in $bases; do
  if $refresh_base || ! "${podman[@]}" image exists "${reference[$base]}"; then needed+=("$base"); fi
done
if [ ${#needed[@]} -gt 0 ]; then
  make_rootfs "$work/rootfs"
  for base in debian:12 debian:12-slim; do   # slim last: it changes the tree
    [[ " ${needed[*]} " == *" $base "* ]] || continue
    [ "$base" = debian:12-slim ] && slim "$work/rootfs"
    import_image "$work/rootfs" "${reference[$base]}"
  done
  rm -rf "$work/rootfs"
fi

revision=$(git rev-parse --short HEAD 2>/dev/null || true)
branch=$(git rev-parse --abbrev-ref HEAD 2>/dev/null || true)
[ -n "$source_url" ] || echo "build.sh: no git remote \"origin\" and no --source: the image's source label is empty" >&2
# Host network: the build stage fetches Debian packages, and this machine has no container
# network set up. The ignore file is named, as not every podman looks for <Dockerfile>.dockerignore.
"${podman[@]}" build --pull=never --network=host --ignorefile deploy/Dockerfile.dockerignore \
  --build-arg "KEPLER_VERSION=$version" --build-arg "KEPLER_REVISION=$revision" \
  --build-arg "KEPLER_BRANCH=$branch" --build-arg "KEPLER_SOURCE=$source_url" \
  --build-arg "KEPLER_BUILD_JOBS=$jobs" \
  -f deploy/Dockerfile -t "$tag" .
echo "build.sh: built $tag ($("${podman[@]}" image inspect --format '{{.Size}}' "$tag") bytes, revision ${revision:-none}) in ${SECONDS} s"
