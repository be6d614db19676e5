#include "sensors/proc/self_stats.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "base/text.hpp"
#include "sensors/proc/procfs.hpp"

namespace kepler {

namespace {

/// Counts the entries of `<procfs>/self/fd`, leaving out the descriptor this listing uses.
result<uint64_t> count_open_fds(const std::string& fd_dir) {
  DIR* dir = ::opendir(fd_dir.c_str());
  if (dir == nullptr) return make_error("unable to list " + fd_dir + ": " + errno_text(errno));
  const std::string own_fd = std::to_string(::dirfd(dir));
  uint64_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == ".." || name == own_fd) continue;
    ++count;
  }
  ::closedir(dir);
  return count;
}

}  // namespace

result<self_stats> read_self_stats(const std::string& procfs_root) {
  const std::string stat_path = procfs_root + "/self/stat";
  auto stat_text = read_text_file(stat_path);
  if (!stat_text) return make_error(stat_text.error_message());
  auto stat = parse_pid_stat(stat_text.value());
  if (!stat) return make_error(stat_path + ": " + stat.error_message());

  auto node_text = read_text_file(procfs_root + "/stat");
  if (!node_text) return make_error(node_text.error_message());
  auto boot_time = parse_boot_time(node_text.value());
  if (!boot_time) return make_error(procfs_root + "/stat: " + boot_time.error_message());

  auto fds = count_open_fds(procfs_root + "/self/fd");
  if (!fds) return make_error(fds.error_message());

  const auto hz = static_cast<double>(clock_ticks_per_second());
  const long page_size = ::sysconf(_SC_PAGESIZE);
  const pid_stat& s = stat.value();
  self_stats out;
  out.cpu_seconds = static_cast<double>(s.utime + s.stime) / hz;
  out.resident_bytes = s.rss_pages > 0 ? static_cast<uint64_t>(s.rss_pages) * static_cast<uint64_t>(page_size) : 0;
  out.open_fds = fds.value();
  out.start_time_seconds = static_cast<double>(boot_time.value()) + static_cast<double>(s.starttime) / hz;
  return out;
}

}  // namespace kepler
