#include "sensors/proc/procfs.hpp"

#include <time.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>

#include "base/text.hpp"

namespace kepler {

namespace {

/// Calls `fn(line)` for every line of `text` (without the newline) until it returns false.
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const auto line = text.substr(0, nl);
    if (!fn(line) || nl == std::string_view::npos) return;
    text.remove_prefix(nl + 1);
  }
}

constexpr bool is_separator(char c) { return c == ' ' || c == '\n' || c == '\t'; }

/// Splits off the next whitespace-separated token of `rest`; empty when none is left.
/// A plain loop: this runs ~50 times per process per scan.
std::string_view next_token(std::string_view& rest) {
  const char* p = rest.data();
  const char* const end = p + rest.size();
  while (p != end && is_separator(*p)) ++p;
  const char* const start = p;
  while (p != end && !is_separator(*p)) ++p;
  rest = std::string_view(p, static_cast<std::size_t>(end - p));
  return std::string_view(start, static_cast<std::size_t>(p - start));
}

/// A short excerpt of `text` for error messages (inputs can be 10 kB lines).
std::string excerpt(std::string_view text) {
  constexpr std::size_t max_chars = 60;
  text = trim_space(text);
  return text.size() <= max_chars ? std::string(text) : std::string(text.substr(0, max_chars)) + "...";
}

}  // namespace

uint64_t cpu_times::busy() const { return user + nice + system + irq + softirq + steal; }

uint64_t cpu_times::total() const { return busy() + idle + iowait; }

result<cpu_times> parse_proc_stat(std::string_view text) {
  std::string_view cpu_line;
  bool found = false;
  for_each_line(text, [&](std::string_view line) {
    if (line.size() > 3 && line.starts_with("cpu") && (line[3] == ' ' || line[3] == '\t')) {
      cpu_line = line.substr(3);
      found = true;
    }
    return !found;
  });
  if (!found) return make_error("no aggregate \"cpu \" line in /proc/stat");

  cpu_times t;
  uint64_t* const columns[] = {&t.user, &t.nice,    &t.system, &t.idle,  &t.iowait,
                               &t.irq,  &t.softirq, &t.steal,  &t.guest, &t.guest_nice};
  std::size_t count = 0;
  for (auto token = next_token(cpu_line); !token.empty() && count < std::size(columns); token = next_token(cpu_line)) {
    if (!parse_decimal(token, *columns[count]))
      return make_error("invalid column in /proc/stat cpu line: '" + excerpt(token) + "'");
    ++count;
  }
  // Kernels before 2.6 had 4 columns; iowait, irq, ... were appended over time.
  if (count < 4) return make_error("too few columns in /proc/stat cpu line (" + std::to_string(count) + ")");
  return t;
}

result<uint64_t> parse_boot_time(std::string_view text) {
  std::string_view value;
  bool found = false;
  for_each_line(text, [&](std::string_view line) {
    if (line.starts_with("btime ")) {
      value = trim_space(line.substr(6));
      found = true;
    }
    return !found;
  });
  if (!found) return make_error("no btime line in /proc/stat");
  uint64_t seconds = 0;
  if (!parse_decimal(value, seconds)) return make_error("invalid btime in /proc/stat: '" + excerpt(value) + "'");
  return seconds;
}

double usage_ratio(const cpu_times& previous, const cpu_times& current) {
  const uint64_t prev_total = previous.total(), cur_total = current.total();
  const uint64_t prev_busy = previous.busy(), cur_busy = current.busy();
  // Counters that went backwards mean a different host or a reset: no usable window.
  if (cur_total <= prev_total || cur_busy < prev_busy) return 0.0;
  const double ratio = static_cast<double>(cur_busy - prev_busy) / static_cast<double>(cur_total - prev_total);
  // iowait may decrease on some kernels, which can push the ratio above 1.
  return std::clamp(ratio, 0.0, 1.0);
}

namespace {

/// The fields of a /proc/<pid>/stat line after "(comm)", from field 3 (state) on, or nothing
/// when the line has no "(comm)". comm may hold spaces and parentheses; the kernel writes only
/// numbers and the state after it, so the last ')' closes it.
std::optional<std::string_view> fields_after_comm(std::string_view text) {
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  return text.substr(close + 1);
}

}  // namespace

result<pid_stat> parse_pid_stat(std::string_view text) {
  auto after_comm = fields_after_comm(text);
  if (!after_comm) return make_error(errc::parse, "malformed pid stat, no (comm): '" + excerpt(text) + "'");
  const auto open = text.find('(');
  const auto close = text.size() - after_comm->size() - 1;
  pid_stat s;
  if (!parse_decimal(trim_space(text.substr(0, open)), s.pid))
    return make_error("malformed pid stat, bad pid: '" + excerpt(text) + "'");
  s.comm.assign(text.substr(open + 1, close - open - 1));

  std::string_view rest = *after_comm;
  std::size_t field = 2;  // 1-based numbering as in proc(5): pid is 1, comm is 2
  bool ok = true;
  for (auto token = next_token(rest); !token.empty() && ok; token = next_token(rest)) {
    switch (++field) {
      case 3:
        s.state = token[0];
        ok = token.size() == 1;
        break;
      case 4: ok = parse_decimal(token, s.ppid); break;
      case 14: ok = parse_decimal(token, s.utime); break;
      case 15: ok = parse_decimal(token, s.stime); break;
      case 20: ok = parse_decimal(token, s.num_threads); break;
      case 22: ok = parse_decimal(token, s.starttime); break;
      case 24: ok = parse_decimal(token, s.rss_pages); break;
      case 39: ok = parse_decimal(token, s.processor); break;
      default: break;
    }
  }
  if (!ok) return make_error("malformed pid stat, bad field " + std::to_string(field) + ": '" + excerpt(text) + "'");
  s.field_count = field;
  if (field < 24)  // everything Kepler needs is at or before rss (field 24)
    return make_error("truncated pid stat (" + std::to_string(field) + " fields): '" + excerpt(text) + "'");
  return s;
}

std::optional<uint64_t> parse_schedstat_run_ns(std::string_view text) {
  const auto first = text.find_first_of(" \n");
  uint64_t ns = 0;
  if (first == std::string_view::npos || !parse_decimal(text.substr(0, first), ns)) return std::nullopt;
  return ns;
}

std::optional<uint64_t> pid_stat_starttime(std::string_view text) {
  auto rest = fields_after_comm(text);
  if (!rest) return std::nullopt;
  std::size_t field = 2;
  for (auto token = next_token(*rest); !token.empty(); token = next_token(*rest)) {
    if (++field != 22) continue;
    uint64_t ticks = 0;
    if (!parse_decimal(token, ticks)) return std::nullopt;
    return ticks;
  }
  return std::nullopt;
}

bool start_time_matches(uint64_t start_ns, uint64_t start_ticks, long ticks_per_second) {
  if (ticks_per_second <= 0) return true;
  uint64_t expected = start_ns / (1'000'000'000u / uint64_t(ticks_per_second));
  return start_ticks + 1 >= expected && start_ticks <= expected + 1;
}

bool process_alive(const std::string& procfs_root, uint32_t tgid, uint64_t start_ns) {
  if (::kill(pid_t(tgid), 0) != 0 && errno == ESRCH) return false;
  char path[4096];
  std::snprintf(path, sizeof path, "%s/%u/stat", procfs_root.c_str(), tgid);
  char line[1024];  // a stat line is under 400 bytes; comm is at most 64
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno != ENOENT;  // unreadable for another reason: keep it
  const ssize_t length = ::read(fd, line, sizeof line);
  ::close(fd);
  if (length < 0) return true;
  auto ticks = pid_stat_starttime(std::string_view(line, std::size_t(length)));
  static const long ticks_per_second = clock_ticks_per_second();
  return !ticks || start_time_matches(start_ns, *ticks, ticks_per_second);
}

std::vector<std::string> parse_cmdline(std::string_view raw) {
  while (!raw.empty() && raw.back() == '\0') raw.remove_suffix(1);
  std::vector<std::string> args;
  if (raw.empty()) return args;
  for (;;) {
    const auto nul = raw.find('\0');
    args.emplace_back(raw.substr(0, nul));
    if (nul == std::string_view::npos) break;
    raw.remove_prefix(nul + 1);
  }
  return args;
}

long clock_ticks_per_second() {
  const long hz = ::sysconf(_SC_CLK_TCK);
  return hz > 0 ? hz : 100;  // 100 is USER_HZ on every mainstream architecture
}

result<std::string> read_text_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("unable to read " + path + ": " + errno_text(errno));
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      const int err = errno;
      ::close(fd);
      return make_error("unable to read " + path + ": " + errno_text(err));
    }
  }
  ::close(fd);
  return text;
}

namespace {

/// Whether the space-separated `list` holds `word`.
bool has_word(std::string_view list, std::string_view word) {
  for (auto token = next_token(list); !token.empty(); token = next_token(list))
    if (token == word) return true;
  return false;
}

}  // namespace

std::vector<cpu_info> parse_cpuinfo(std::string_view text) {
  std::vector<cpu_info> cpus;
  for_each_line(text, [&](std::string_view line) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return true;
    const auto key = trim_space(line.substr(0, colon));
    const auto value = std::string(trim_space(line.substr(colon + 1)));
    if (key == "processor") {
      cpus.emplace_back().processor = value;
    } else if (!cpus.empty()) {
      auto& cpu = cpus.back();
      if (key == "vendor_id") cpu.vendor_id = value;
      else if (key == "model name") cpu.model_name = value;
      else if (key == "physical id") cpu.physical_id = value;
      else if (key == "core id") cpu.core_id = value;
      else if (key == "cpu cores") cpu.cpu_cores = value;
      else if (key == "siblings") cpu.siblings = value;
      else if (key == "cpu family") cpu.cpu_family = value;
      else if (key == "model") cpu.model = value;
      else if (key == "stepping") cpu.stepping = value;
      else if (key == "CPU implementer") cpu.cpu_implementer = value;
      else if (key == "CPU part") cpu.cpu_part = value;
      else if (key == "flags") cpu.hypervisor = has_word(value, "hypervisor");
    }
    return true;
  });
  return cpus;
}

}  // namespace kepler
