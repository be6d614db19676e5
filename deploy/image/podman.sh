#!/usr/bin/env bash
# podman as it runs on this project's machines (Debian 12, root, hybrid cgroup v1): with runc,
# since crun refuses hybrid cgroups, and cgroupfs, since no systemd manages the cgroups. For
# `run`, `create` and `build`, RLIMIT_NOFILE and RLIMIT_NPROC are set explicitly: podman's default
# of 1048576 open files exceeds what such a machine allows (the container fails to start), so
# open files get this shell's hard limit; podman lowers its own process limit to 32768 and a
# container cannot raise it, so processes get at most that. Used by deploy/image/build.sh and the
# image tests (test/deploy/test_image.py).
#
#   deploy/image/podman.sh ARGS...   (as `podman ARGS`)
set -euo pipefail
command -v podman >/dev/null || { echo "podman.sh: podman is not installed (deploy/image/build.sh installs it)" >&2; exit 1; }
global=(--runtime runc --cgroup-manager cgroupfs)
# The hard limit of this shell for ulimit's option $1, at most $2.
capped() {
  local limit
  limit=$(ulimit -H "$1")
  if [ "$limit" = unlimited ] || [ "$limit" -gt "$2" ]; then echo "$2"; else echo "$limit"; fi
}
nofile=$(capped -n 1048576)
nproc=$(capped -u 32768)
case "${1:-}" in
  run | build | create)
    subcommand=$1
    shift
    exec podman "${global[@]}" "$subcommand" \
      --ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc" "$@"
    ;;
  *) exec podman "${global[@]}" "$@" ;;
esac
