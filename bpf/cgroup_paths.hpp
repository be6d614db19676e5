#pragma once
// cgroup v2 id → cgroup path, so that parse_cgroup_path (sensors/proc/container_identity.hpp) can
// classify what the eBPF probe reports. A cgroup v2 id is the inode number of its directory.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.hpp"

namespace kepler {

/// The mount point of the cgroup v2 hierarchy in a /proc/self/mounts text, first one listed
/// (/sys/fs/cgroup on pure v2 hosts, /sys/fs/cgroup/unified on hybrid ones); nullopt if none.
std::optional<std::string> find_cgroup2_mount(std::string_view mounts);

/// Resolves cgroup ids to paths relative to the cgroup v2 root by walking the tree, cached.
class cgroup_paths {
 public:
  /// `root` is the cgroup v2 mount point (or a test tree laid out like one).
  explicit cgroup_paths(std::filesystem::path root) : root_(std::move(root)) {}

  /// Uses the cgroup v2 mount named in `mounts_file`; the error says when there is none.
  static result<cgroup_paths> from_mounts(const std::string& mounts_file = "/proc/self/mounts");

  /// The host's cgroup v2 tree under `sysfs_root` (host.sysfs) when there is one there
  /// (`fs/cgroup`, or `fs/cgroup/unified` on hybrid hosts), else from_mounts: in a container,
  /// /proc/self/mounts names the container's own cgroup namespace, which hides the other
  /// containers, while the host's /sys mounted in shows the whole tree.
  static result<cgroup_paths> for_host(const std::string& sysfs_root,
                                       const std::string& mounts_file = "/proc/self/mounts");

  const std::filesystem::path& root() const { return root_; }

  /// The path of cgroup `id` relative to the root, with a leading '/' ("/" is the root), as in
  /// /proc/<pid>/cgroup; nullptr if unknown. A miss rebuilds the cache, at most once between
  /// two begin_read() calls. The pointer stays valid until the next rebuild.
  const std::string* find(uint64_t id);

  /// Whether cgroup `id` still exists: its path is known and its directory is still that
  /// cgroup (a stat). A removed cgroup is dropped from the cache.
  bool exists(uint64_t id);

  /// Starts a new read: allows one more rebuild on a miss.
  void begin_read() { rebuilt_this_read_ = false; }

  /// How many times the tree was walked.
  uint64_t rebuilds() const { return rebuilds_; }

  /// Cached cgroups.
  std::size_t size() const { return paths_.size(); }

 private:
  void rebuild();

  std::filesystem::path root_;
  std::unordered_map<uint64_t, std::string> paths_;
  bool rebuilt_this_read_ = false;
  uint64_t rebuilds_ = 0;
};

}  // namespace kepler
