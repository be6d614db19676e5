#include "bpf/cgroup_paths.hpp"

#include <sys/stat.h>
#include <sys/vfs.h>

#include <fstream>
#include <sstream>

namespace kepler {
namespace {

/// Undoes the octal escapes (\040 for a space, …) that /proc/self/mounts uses in paths.
std::string unescape_mount_path(std::string_view field) {
  std::string path;
  path.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '3') {
      path += char((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
      i += 3;
    } else {
      path += field[i];
    }
  }
  return path;
}

}  // namespace

std::optional<std::string> find_cgroup2_mount(std::string_view mounts) {
  while (!mounts.empty()) {
    auto end = mounts.find('\n');
    std::string_view line = mounts.substr(0, end);
    mounts = end == std::string_view::npos ? std::string_view{} : mounts.substr(end + 1);
    // device mountpoint fstype options dump pass
    auto first = line.find(' ');
    if (first == std::string_view::npos) continue;
    auto second = line.find(' ', first + 1);
    if (second == std::string_view::npos) continue;
    auto third = line.find(' ', second + 1);
    if (line.substr(second + 1, third - second - 1) == "cgroup2")
      return unescape_mount_path(line.substr(first + 1, second - first - 1));
  }
  return std::nullopt;
}

result<cgroup_paths> cgroup_paths::from_mounts(const std::string& mounts_file) {
  std::ifstream file(mounts_file);
  if (!file) return make_error("cannot read " + mounts_file);
  std::ostringstream mounts;
  mounts << file.rdbuf();
  auto root = find_cgroup2_mount(mounts.str());
  if (!root) return make_error("no cgroup2 mount in " + mounts_file);
  return cgroup_paths(*root);
}

result<cgroup_paths> cgroup_paths::for_host(const std::string& sysfs_root, const std::string& mounts_file) {
  constexpr long cgroup2_magic = 0x63677270;  // CGROUP2_SUPER_MAGIC
  for (const char* relative : {"/fs/cgroup", "/fs/cgroup/unified"}) {
    std::string candidate = sysfs_root + relative;
    struct statfs fs {};
    if (::statfs(candidate.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == cgroup2_magic)
      return cgroup_paths(candidate);
  }
  return from_mounts(mounts_file);
}

bool cgroup_paths::exists(uint64_t id) {
  const std::string* path = find(id);
  if (!path) return false;
  struct stat st {};
  if (::stat((root_.string() + *path).c_str(), &st) == 0 && uint64_t(st.st_ino) == id) return true;
  paths_.erase(id);
  return false;
}

const std::string* cgroup_paths::find(uint64_t id) {
  if (auto it = paths_.find(id); it != paths_.end()) return &it->second;
  if (rebuilt_this_read_) return nullptr;
  rebuild();
  auto it = paths_.find(id);
  return it == paths_.end() ? nullptr : &it->second;
}

void cgroup_paths::rebuild() {
  rebuilt_this_read_ = true;
  ++rebuilds_;
  paths_.clear();
  struct stat st {};
  if (::stat(root_.c_str(), &st) != 0) return;
  paths_.emplace(uint64_t(st.st_ino), "/");
  namespace fs = std::filesystem;
  std::error_code ec;
  // Cgroups come and go during the walk: skip what vanished, never throw.
  fs::recursive_directory_iterator it(root_, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    if (::stat(it->path().c_str(), &st) != 0) continue;
    paths_.emplace(uint64_t(st.st_ino), "/" + it->path().lexically_relative(root_).string());
  }
}

}  // namespace kepler
