#pragma once
// Scans /proc for every process's CPU time; metadata is read once per process lifetime.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.hpp"
#include "sensors/proc/kept_file.hpp"
#include "sensors/proc/process_table.hpp"
#include "sensors/proc/procfs.hpp"

namespace kepler {

/// Small files of one process, read relative to the open /proc directory.
class process_files {
 public:
  process_files(int procfs_fd, const char* pid_name, std::size_t pid_length)
      : procfs_fd_(procfs_fd), pid_name_(pid_name), pid_length_(pid_length) {}
  /// Reads `<pid>/<file>` (cgroup, cmdline, environ, …), at most `limit` bytes.
  result<std::string> read(const char* file, std::size_t limit = 64 * 1024) const;

 private:
  int procfs_fd_;
  const char* pid_name_;
  std::size_t pid_length_;
};

/// Fills the classification fields of a new process's metadata; called once per lifetime.
using process_classifier = std::function<void(const process_files&, process_info&)>;

/// Reads /proc; keeps a metadata cache keyed by (pid, start time), pruned every scan.
///
/// Each process's /proc/<pid>/stat stays open across scans and is re-read with pread at
/// offset 0, which costs one syscall per process instead of three. A kept file belongs to
/// one process lifetime: when its read fails (ESRCH: exited, or the pid now names another
/// task), returns nothing, or shows another start time, it is closed and the pid is read
/// afresh. The number of kept files is bounded by `max_open_files`; beyond it, and for the
/// rest of a scan in which an open failed with EMFILE or ENFILE, processes are read with
/// open/read/close (counted in `fallback_reads`, not in `skipped`). A fake procfs tree must
/// rewrite its stat files in place, as procfs does: a replaced file is not seen by a kept file.
class process_scanner {
 public:
  /// Keeps at most raise_open_file_limit() files open: raises RLIMIT_NOFILE's soft limit
  /// to min(hard, 2^20) and leaves reserved_file_descriptors (256) and the metrics server's
  /// connections (share_descriptors) to the rest of the daemon.
  explicit process_scanner(std::string procfs_root);

  /// Keeps at most `max_open_files` /proc/<pid>/stat files open between scans (0: none);
  /// leaves RLIMIT_NOFILE alone.
  process_scanner(std::string procfs_root, std::size_t max_open_files);

  process_scanner(const process_scanner&) = delete;
  process_scanner& operator=(const process_scanner&) = delete;
  process_scanner(process_scanner&&) = delete;
  process_scanner& operator=(process_scanner&&) = delete;
  ~process_scanner() = default;  ///< closes every kept file

  /// Reads <procfs>/stat and every <procfs>/<pid>/stat. Fails only when /proc/stat or the
  /// directory listing cannot be read; per-process failures are counted in `skipped`.
  result<process_table> scan();

  /// Processes whose metadata is cached (those seen by the last scan).
  std::size_t cached_processes() const { return cache_.size(); }

  /// /proc/<pid>/stat files kept open for the next scan.
  std::size_t open_files() const { return open_files_; }

  /// The most files kept open; lowered to what was left open after an EMFILE or ENFILE.
  std::size_t max_open_files() const { return max_open_files_; }

  /// Classifies each new process (container, VM) when its metadata is first read.
  void set_classifier(process_classifier classifier) { classifier_ = std::move(classifier); }

 private:
  /// One process lifetime: its start time, cached metadata, kept stat file (closed when over
  /// budget) and the scan that last saw it (for pruning).
  struct cache_entry {
    uint64_t start_ticks = 0;
    std::shared_ptr<const process_info> info;
    kept_file stat;
    kept_file schedstat;        ///< kept while the process has one thread
    bool no_schedstat = false;  ///< the kernel has none (no CONFIG_SCHED_INFO) or a fake tree
    uint64_t cpu_ns = 0;        ///< the counter reported last: it never goes back
    uint64_t seen_in_scan = 0;
  };

  struct scan_pass;  ///< one scan's directory, output table, buffers and budget state

  uint64_t ticks_to_ns(uint64_t ticks) const;
  /// The process's CPU time from its stat line and, when it has one thread, its schedstat.
  uint64_t cpu_time_ns(scan_pass& pass, int32_t pid, cache_entry& entry);
  /// The first field of <pid>/schedstat (ns on the CPU), or nullopt.
  std::optional<uint64_t> read_schedstat(scan_pass& pass, int32_t pid, cache_entry& entry);
  /// Re-reads a kept stat file; true when it still shows the cached lifetime (sample added).
  bool read_kept(scan_pass& pass, int32_t pid, cache_entry& entry);
  /// Opens and reads <pid>/stat, reads metadata for a new lifetime, keeps the file if allowed.
  void read_fresh(scan_pass& pass, int32_t pid, const char* pid_name, std::size_t pid_len);
  /// Out of descriptors: stop keeping files this scan, close a few, cap the budget there.
  void shed_files(scan_pass& pass);
  /// Closes an entry's kept files, if any.
  void close_file(cache_entry& entry);

  std::string procfs_root_;
  uint64_t ticks_per_second_;  ///< USER_HZ
  uint64_t ns_per_tick_;       ///< 1e9 / USER_HZ when exact, else 0
  uint64_t scan_count_ = 0;
  std::size_t last_process_count_ = 0;
  std::size_t max_open_files_;
  std::size_t open_files_ = 0;
  std::unordered_map<int32_t, cache_entry> cache_;  ///< by pid: one live lifetime per pid
  process_classifier classifier_;
};

}  // namespace kepler
