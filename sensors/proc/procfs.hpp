#pragma once
// Parsers for /proc files (docs/compatibility.md §4.1), pure functions over file contents,
// and the few small reads built on them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace kepler {

/// The aggregate `cpu` line of /proc/stat, in USER_HZ ticks.
struct cpu_times {
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0, guest = 0,
           guest_nice = 0;
  /// user + nice + system + irq + softirq + steal (guest is already inside user).
  uint64_t busy() const;
  /// busy() + idle + iowait.
  uint64_t total() const;
};

/// Parses the aggregate `cpu ` line of a /proc/stat file.
result<cpu_times> parse_proc_stat(std::string_view text);

/// Boot time in seconds since the Unix epoch, from the `btime` line of a /proc/stat file.
result<uint64_t> parse_boot_time(std::string_view text);

/// Busy share of the window between two samples, in [0, 1]; 0 when nothing elapsed.
double usage_ratio(const cpu_times& previous, const cpu_times& current);

/// Fields of /proc/<pid>/stat that Kepler uses.
struct pid_stat {
  int32_t pid = 0;
  std::string comm;  ///< text between the first '(' and the last ')'
  char state = '?';
  int32_t ppid = 0;
  uint64_t utime = 0, stime = 0;  ///< ticks
  int64_t num_threads = 0;
  uint64_t starttime = 0;  ///< ticks since boot
  int64_t rss_pages = 0;
  int32_t processor = 0;
  std::size_t field_count = 0;
};

/// Parses one /proc/<pid>/stat line; comm may hold spaces and parentheses.
result<pid_stat> parse_pid_stat(std::string_view text);

/// The first field of a /proc/<pid>/schedstat line ("<ns on a CPU> <ns waiting> <slices>"):
/// the main thread's CPU time in ns; nullopt when the line does not start with a number.
std::optional<uint64_t> parse_schedstat_run_ns(std::string_view text);

/// Field 22 (starttime, clock ticks since boot) of a /proc/<pid>/stat line, without allocating
/// (the same parser as parse_pid_stat's).
std::optional<uint64_t> pid_stat_starttime(std::string_view text);

/// Whether a CLOCK_BOOTTIME start in ns and a /proc/<pid>/stat starttime in clock ticks name
/// the same instant (the kernel truncates the ns to ticks; one tick of slack).
bool start_time_matches(uint64_t start_ns, uint64_t start_ticks, long ticks_per_second);

/// Whether process `tgid` started at `start_ns` (CLOCK_BOOTTIME) still lives: kill(tgid, 0) is
/// not ESRCH and <procfs_root>/<tgid>/stat shows the same start time (not a reused pid). An
/// unreadable stat file (other than missing) counts as alive. No allocation.
bool process_alive(const std::string& procfs_root, uint32_t tgid, uint64_t start_ns);

/// Splits a /proc/<pid>/cmdline buffer on NUL, trailing NULs dropped.
std::vector<std::string> parse_cmdline(std::string_view raw);

/// USER_HZ as the kernel reports it (sysconf(_SC_CLK_TCK)).
long clock_ticks_per_second();

/// Reads a whole (small) file; the error names the path and errno text.
result<std::string> read_text_file(const std::string& path);

/// One logical CPU of /proc/cpuinfo (x86 field names, plus Arm's CPU identity; missing fields
/// are empty).
struct cpu_info {
  std::string processor, vendor_id, model_name, physical_id, core_id;
  std::string cpu_cores, siblings;          ///< per-package core and thread counts as written
  std::string cpu_family, model, stepping;  ///< x86 CPUID numbers, decimal as written
  std::string cpu_implementer, cpu_part;    ///< Arm: e.g. 0x41 (Arm Ltd) and 0xd0c (Neoverse N1)
  bool hypervisor = false;                  ///< x86 `flags` holds `hypervisor`: a virtual machine
};

/// Parses /proc/cpuinfo into one entry per `processor` block.
std::vector<cpu_info> parse_cpuinfo(std::string_view text);

}  // namespace kepler
