#pragma once
// Which container a process runs in, from its cgroup paths (docs/compatibility.md §4.4). Plain C++.

#include <string>
#include <string_view>
#include <vector>

namespace kepler {

/// The innermost container a cgroup path names; `id` empty = not a container.
struct container_identity {
  std::string id;       ///< container id as it appears in the path (64 hex for the usual runtimes)
  std::string runtime;  ///< docker, containerd, crio, podman, or kubernetes (cgroupfs kubepods paths)
  std::string pod_uid;  ///< from kubepods paths, dashed form (systemd `_` restored to `-`); 32-hex static-pod hashes
                        ///< kept as-is (also set for a pod-level cgroup that names no container, with `id` empty)

  /// Whether the path named a container at all.
  bool is_container() const { return !id.empty(); }
};

/// Parses one cgroup path (the third field of a /proc/<pid>/cgroup line, or a bare path).
container_identity parse_cgroup_path(std::string_view path);

/// Parses a whole /proc/<pid>/cgroup file: the match that starts deepest in its path wins
/// across all lines (nested containers resolve to the innermost one).
container_identity parse_cgroup_file(std::string_view content);

/// The container name Kepler v0.11 reports without Kubernetes: the first `HOSTNAME=` or
/// `CONTAINER_NAME=` of the NUL-separated environ, else `--name` from the command line.
std::string container_name_from(std::string_view environ_raw, const std::vector<std::string>& cmdline);

}  // namespace kepler
