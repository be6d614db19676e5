#include "sensors/proc/process_scanner.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdint>
#include <cstring>

#include "base/clock.hpp"
#include "base/text.hpp"

namespace kepler {

namespace {

constexpr uint64_t ns_per_second = 1'000'000'000;

/// Kept files closed at once when an open fails with EMFILE or ENFILE.
constexpr std::size_t shed_batch = 16;

/// Longest pid directory name we accept (pid_max is at most 2^22, we allow any int32).
constexpr std::size_t max_pid_digits = 10;

/// True for the all-digit names of /proc that are processes (thread-group leaders); sets
/// the pid and the name's length.
bool parse_pid_name(const char* name, int32_t& pid, std::size_t& length) {
  uint64_t value = 0;
  std::size_t n = 0;
  for (; name[n] != '\0'; ++n) {
    if (name[n] < '0' || name[n] > '9' || n == max_pid_digits) return false;
    value = value * 10 + static_cast<uint64_t>(name[n] - '0');
  }
  if (n == 0 || value > INT32_MAX) return false;
  pid = static_cast<int32_t>(value);
  length = n;
  return true;
}

/// Writes "<pid>/<file>" into `out` (sized for a pid and a short file name).
const char* pid_path(char (&out)[32], const char* pid, std::size_t pid_len, const char* file) {
  std::memcpy(out, pid, pid_len);
  out[pid_len] = '/';
  std::strncpy(out + pid_len + 1, file, sizeof out - pid_len - 2);
  out[sizeof out - 1] = '\0';
  return out;
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

/// The parsed line when `n` bytes of `line` hold a complete, well-formed stat line.
bool parse_stat_read(const char* line, ssize_t n, std::size_t size, pid_stat& out) {
  if (n <= 0 || static_cast<std::size_t>(n) >= size) return false;
  auto parsed = parse_pid_stat(std::string_view(line, static_cast<std::size_t>(n)));
  if (!parsed) return false;
  out = std::move(parsed).value();
  return true;
}

}  // namespace

struct process_scanner::scan_pass {
  int dir_fd = -1;
  uint64_t scan_id = 0;
  process_table table;
  bool may_keep = true;  ///< false for the rest of the scan once an open hit EMFILE/ENFILE
  pid_stat stat;         ///< the line just parsed
  char rel[32];
  char line[2048];  // a stat line is ~300 bytes; 52 fields of 20 digits still fit
};

process_scanner::process_scanner(std::string procfs_root)
    : process_scanner(std::move(procfs_root), raise_open_file_limit()) {}

process_scanner::process_scanner(std::string procfs_root, std::size_t max_open_files)
    : procfs_root_(std::move(procfs_root)),
      ticks_per_second_(static_cast<uint64_t>(clock_ticks_per_second())),
      ns_per_tick_(ns_per_second % ticks_per_second_ == 0 ? ns_per_second / ticks_per_second_ : 0),
      max_open_files_(max_open_files) {}

uint64_t process_scanner::ticks_to_ns(uint64_t ticks) const {
  if (ns_per_tick_ != 0) return ticks * ns_per_tick_;
  // Exact without overflowing: whole seconds first, then the remaining ticks.
  return (ticks / ticks_per_second_) * ns_per_second + (ticks % ticks_per_second_) * ns_per_second / ticks_per_second_;
}

result<process_table> process_scanner::scan() {
  auto stat_text = read_text_file(procfs_root_ + "/stat");
  if (!stat_text) return make_error(stat_text.error_message());
  auto node = parse_proc_stat(stat_text.value());
  if (!node) return make_error(procfs_root_ + "/stat: " + node.error_message());

  std::unique_ptr<DIR, dir_closer> dir(::opendir(procfs_root_.c_str()));
  if (!dir) return make_error("unable to list " + procfs_root_ + ": " + errno_text(errno));

  scan_pass pass;
  pass.dir_fd = ::dirfd(dir.get());
  pass.scan_id = ++scan_count_;
  process_table& table = pass.table;
  table.node = node.value();
  table.ns_per_tick = ticks_to_ns(1);
  table.uptime_ns = boot_clock_ns();
  table.processes.reserve(last_process_count_ + last_process_count_ / 8 + 16);

  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) {
      if (errno == 0) break;
      return make_error("unable to list " + procfs_root_ + ": " + errno_text(errno));
    }
    int32_t pid = 0;
    std::size_t pid_len = 0;
    if (!parse_pid_name(entry->d_name, pid, pid_len)) continue;

    const auto it = cache_.find(pid);
    if (it != cache_.end() && it->second.stat.is_open()) {
      if (read_kept(pass, pid, it->second)) continue;
      // Gone, reused or unreadable through the kept file: forget that lifetime. The pid is
      // listed, so whatever holds it now is read afresh below.
      close_file(it->second);
      cache_.erase(it);
    }
    read_fresh(pass, pid, entry->d_name, pid_len);
  }

  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->second.seen_in_scan == pass.scan_id) {
      ++it;
      continue;
    }
    close_file(it->second);  // vanished since the last scan
    it = cache_.erase(it);
  }
  last_process_count_ = table.processes.size();
  return std::move(table);
}

bool process_scanner::read_kept(scan_pass& pass, int32_t pid, cache_entry& entry) {
  const ssize_t n = entry.stat.read_from_start(pass.line, sizeof pass.line);
  // ESRCH or 0 bytes: the task is gone (also when the pid was reused: the kept file still
  // refers to the dead task). Another start time: never report it under the cached key.
  if (!parse_stat_read(pass.line, n, sizeof pass.line, pass.stat) || pass.stat.pid != pid ||
      pass.stat.starttime != entry.start_ticks)
    return false;
  entry.seen_in_scan = pass.scan_id;
  pass.table.processes.push_back({{pid, entry.start_ticks}, cpu_time_ns(pass, pid, entry), entry.info});
  return true;
}

void process_scanner::read_fresh(scan_pass& pass, int32_t pid, const char* pid_name, std::size_t pid_len) {
  process_table& table = pass.table;
  const char* stat_path = pid_path(pass.rel, pid_name, pid_len, "stat");
  int err = 0;
  kept_file file = kept_file::open_at(pass.dir_fd, stat_path, err);
  if (!file.is_open() && (err == EMFILE || err == ENFILE)) {
    shed_files(pass);
    file = kept_file::open_at(pass.dir_fd, stat_path, err);
  }
  if (!file.is_open()) {
    if (!vanished(err)) ++table.skipped;
    return;
  }
  const ssize_t n = file.read_from_start(pass.line, sizeof pass.line);
  if (n == 0) return;  // reaped between open and read
  if (n < 0) {
    if (!vanished(static_cast<int>(-n))) ++table.skipped;
    return;
  }
  pid_stat& st = pass.stat;
  if (!parse_stat_read(pass.line, n, sizeof pass.line, st) || st.pid != pid) {
    ++table.skipped;
    return;
  }

  auto [it, inserted] = cache_.try_emplace(pid);
  cache_entry& entry = it->second;
  if (!inserted && entry.start_ticks != st.starttime) {
    close_file(entry);
    entry = cache_entry{};  // the pid was reused while its entry kept no file
    inserted = true;
  }
  if (inserted) {
    // First sight of this (pid, start time): read its metadata, once per lifetime.
    auto info = std::make_shared<process_info>();
    info->comm = st.comm;  // the same task->comm that /proc/<pid>/comm shows
    err = read_exe(pass.dir_fd, pid_path(pass.rel, pid_name, pid_len, "exe"), info->exe);
    if (err != 0) {  // unexpected: skip the process now, retry its metadata next scan
      cache_.erase(it);
      if (!vanished(err)) ++table.skipped;
      return;
    }
    if (classifier_) classifier_(process_files(pass.dir_fd, pid_name, pid_len), *info);
    entry.start_ticks = st.starttime;
    entry.info = std::move(info);
  }
  if (pass.may_keep && open_files_ < max_open_files_) {
    entry.stat = std::move(file);
    ++open_files_;
  } else {
    ++table.fallback_reads;  // `file` closes on return
  }
  entry.seen_in_scan = pass.scan_id;
  table.processes.push_back({{pid, st.starttime}, cpu_time_ns(pass, pid, entry), entry.info});
}

// /proc/<pid>/stat gives user and system time in clock ticks (10 ms), each rounded down: a
// process that wakes for microseconds runs for minutes before either moves, and a node of
// such processes shows half its CPU time or less. /proc/<pid>/schedstat gives the same time
// in ns, but for the main thread only, so it is read for one-thread processes. Both count
// short, never over: the larger is the closer, and keeping the largest so far means the
// counter never goes back when a process gains or loses threads.
uint64_t process_scanner::cpu_time_ns(scan_pass& pass, int32_t pid, cache_entry& entry) {
  uint64_t ns = ticks_to_ns(pass.stat.utime + pass.stat.stime);
  if (pass.stat.num_threads == 1) {
    if (auto precise = read_schedstat(pass, pid, entry)) ns = std::max(ns, *precise);
  } else if (entry.schedstat.is_open()) {
    entry.schedstat.reset();  // its main thread's time alone would now count short
    --open_files_;
  }
  entry.cpu_ns = std::max(entry.cpu_ns, ns);
  return entry.cpu_ns;
}

std::optional<uint64_t> process_scanner::read_schedstat(scan_pass& pass, int32_t pid, cache_entry& entry) {
  if (entry.no_schedstat) return std::nullopt;
  char name[max_pid_digits + 1];
  char* const end = std::to_chars(name, name + max_pid_digits, pid).ptr;  // fits: pid ≤ INT32_MAX
  *end = '\0';
  kept_file fresh;
  const kept_file* file = &entry.schedstat;
  if (!file->is_open()) {
    int err = 0;
    fresh = kept_file::open_at(pass.dir_fd, pid_path(pass.rel, name, static_cast<std::size_t>(end - name), "schedstat"),
                               err);
    if (!fresh.is_open()) {
      entry.no_schedstat = err == ENOENT;  // a kernel without it (the process is alive: its stat was just read)
      return std::nullopt;
    }
    file = &fresh;
  }
  char line[96];
  const ssize_t n = file->read_from_start(line, sizeof line);
  const auto ns = n > 0 ? parse_schedstat_run_ns(std::string_view(line, static_cast<std::size_t>(n))) : std::nullopt;
  if (fresh.is_open() && ns && pass.may_keep && open_files_ < max_open_files_) {
    entry.schedstat = std::move(fresh);
    ++open_files_;
  }
  return ns;
}

void process_scanner::shed_files(scan_pass& pass) {
  pass.may_keep = false;
  std::size_t to_close = std::min(open_files_, shed_batch);
  for (auto it = cache_.begin(); it != cache_.end() && to_close > 0; ++it) {
    if (!it->second.stat.is_open()) continue;
    close_file(it->second);
    --to_close;
  }
  max_open_files_ = open_files_;  // stay below the point where descriptors ran out
}

void process_scanner::close_file(cache_entry& entry) {
  for (kept_file* file : {&entry.stat, &entry.schedstat}) {
    if (!file->is_open()) continue;
    file->reset();
    --open_files_;
  }
}

result<std::string> process_files::read(const char* file, std::size_t limit) const {
  char rel[32];
  int fd = ::openat(procfs_fd_, pid_path(rel, pid_name_, pid_length_, file), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(std::string(rel) + ": " + errno_text(errno));
  std::string content;
  char buffer[4096];
  while (content.size() < limit) {
    ssize_t n = ::read(fd, buffer, std::min(sizeof buffer, limit - content.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return content;
}

}  // namespace kepler
