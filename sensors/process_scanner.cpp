#include "sensors/process_scanner.hpp"

#include <dirent.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "sensors/text.hpp"

namespace kepler {

namespace {

/// CLOCK_BOOTTIME: the clock process start times are counted on.
uint64_t boot_clock_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(now.tv_nsec);
}


constexpr uint64_t ns_per_second = 1'000'000'000;

/// Longest pid directory name we accept (pid_max is at most 2^22, we allow any int32).
constexpr std::size_t max_pid_digits = 10;

/// True for the all-digit names of /proc that are processes (thread-group leaders).
bool is_pid_name(const char* name, std::size_t& length) {
  std::size_t n = 0;
  for (; name[n] != '\0'; ++n) {
    if (name[n] < '0' || name[n] > '9' || n == max_pid_digits) return false;
  }
  length = n;
  return n > 0;
}

/// Writes "<pid>/<file>" into `out` (sized for a pid and a short file name).
const char* pid_path(char (&out)[32], const char* pid, std::size_t pid_len, const char* file) {
  std::memcpy(out, pid, pid_len);
  out[pid_len] = '/';
  std::strncpy(out + pid_len + 1, file, sizeof out - pid_len - 2);
  out[sizeof out - 1] = '\0';
  return out;
}

/// Reads a small per-process file relative to the open procfs directory. Returns the byte
/// count or -errno.
ssize_t read_relative(int dir_fd, const char* rel_path, char* buf, std::size_t size) {
  const int fd = ::openat(dir_fd, rel_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = 0;
  do {
    n = ::read(fd, buf, size);
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  return n < 0 ? -err : n;
}

/// Reads the `exe` link of a process; returns 0, or the errno of a failure that is not an
/// expected "no binary to show" (ENOENT: kernel thread or exited; EACCES/EPERM: not ours).
int read_exe(int dir_fd, const char* rel_path, std::string& exe) {
  char target[PATH_MAX];
  const ssize_t len = ::readlinkat(dir_fd, rel_path, target, sizeof target);
  if (len >= 0) {
    exe.assign(target, static_cast<std::size_t>(len));
    return 0;
  }
  return errno == ENOENT || errno == EACCES || errno == EPERM ? 0 : errno;
}

/// The process exited between the directory listing and the read.
bool vanished(int err) { return err == ENOENT || err == ESRCH; }

struct dir_closer {
  void operator()(DIR* d) const { ::closedir(d); }
};

}  // namespace

process_scanner::process_scanner(std::string procfs_root)
    : procfs_root_(std::move(procfs_root)),
      ticks_per_second_(static_cast<uint64_t>(clock_ticks_per_second())),
      ns_per_tick_(ns_per_second % ticks_per_second_ == 0 ? ns_per_second / ticks_per_second_
                                                          : 0) {}

uint64_t process_scanner::ticks_to_ns(uint64_t ticks) const {
  if (ns_per_tick_ != 0) return ticks * ns_per_tick_;
  // Exact without overflowing: whole seconds first, then the remaining ticks.
  return (ticks / ticks_per_second_) * ns_per_second +
         (ticks % ticks_per_second_) * ns_per_second / ticks_per_second_;
}

result<process_table> process_scanner::scan() {
  auto stat_text = read_text_file(procfs_root_ + "/stat");
  if (!stat_text) return make_error(stat_text.error_message());
  auto node = parse_proc_stat(stat_text.value());
  if (!node) return make_error(procfs_root_ + "/stat: " + node.error_message());

  std::unique_ptr<DIR, dir_closer> dir(::opendir(procfs_root_.c_str()));
  if (!dir) return make_error("unable to list " + procfs_root_ + ": " + errno_text(errno));
  const int dir_fd = ::dirfd(dir.get());

  process_table table;
  table.node = node.value();
  table.ns_per_tick = ticks_to_ns(1);
  table.uptime_ns = boot_clock_ns();
  table.processes.reserve(last_process_count_ + last_process_count_ / 8 + 16);
  const uint64_t scan_id = ++scan_count_;

  char rel[32];
  char line[2048];  // a stat line is ~300 bytes; 52 fields of 20 digits still fit
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) {
      if (errno == 0) break;
      return make_error("unable to list " + procfs_root_ + ": " + errno_text(errno));
    }
    std::size_t pid_len = 0;
    if (!is_pid_name(entry->d_name, pid_len)) continue;

    const ssize_t n =
        read_relative(dir_fd, pid_path(rel, entry->d_name, pid_len, "stat"), line, sizeof line);
    if (n < 0) {
      if (!vanished(static_cast<int>(-n))) ++table.skipped;
      continue;
    }
    if (n == 0) continue;  // reaped between open and read
    if (static_cast<std::size_t>(n) == sizeof line) {
      ++table.skipped;
      continue;
    }
    auto parsed = parse_pid_stat(std::string_view(line, static_cast<std::size_t>(n)));
    if (!parsed) {
      ++table.skipped;
      continue;
    }
    const pid_stat& st = parsed.value();
    const process_key key{st.pid, st.starttime};

    auto [it, inserted] = cache_.try_emplace(key);
    if (inserted) {
      // First sight of this (pid, start time): read its metadata, once per lifetime.
      auto info = std::make_shared<process_info>();
      info->comm = st.comm;  // the same task->comm that /proc/<pid>/comm shows
      const int err = read_exe(dir_fd, pid_path(rel, entry->d_name, pid_len, "exe"), info->exe);
      if (err != 0) {  // unexpected: skip the process now, retry its metadata next scan
        cache_.erase(it);
        if (!vanished(err)) ++table.skipped;
        continue;
      }
      it->second.info = std::move(info);
    }
    it->second.seen_in_scan = scan_id;
    table.processes.push_back({key, ticks_to_ns(st.utime + st.stime), it->second.info});
  }

  std::erase_if(cache_, [scan_id](const auto& kv) { return kv.second.seen_in_scan != scan_id; });
  last_process_count_ = table.processes.size();
  return table;
}

}  // namespace kepler
