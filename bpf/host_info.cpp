#include "bpf/host_info.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace kepler {
namespace {

/// A small file's contents into `buffer`; the length, or -1.
ssize_t read_small_file(const char* path, char* buffer, std::size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t length = ::read(fd, buffer, size);
  close(fd);
  return length;
}

bool parse_number(std::string_view digits, uint32_t& value) {
  if (digits.empty() || digits.size() > 9) return false;
  value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + uint32_t(c - '0');
  }
  return true;
}

}  // namespace

bool parse_cpu_list(std::string_view text, std::vector<uint32_t>& cpus) {
  cpus.clear();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.empty()) return false;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view range = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto dash = range.find('-');
    uint32_t first = 0, last = 0;
    if (!parse_number(range.substr(0, dash), first)) return false;
    if (dash == std::string_view::npos) last = first;
    else if (!parse_number(range.substr(dash + 1), last) || last < first) return false;
    for (uint32_t cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
  }
  return true;
}

void read_online_cpus(std::vector<uint32_t>& cpus, uint32_t possible) {
  char text[256];
  ssize_t length = read_small_file("/sys/devices/system/cpu/online", text, sizeof text);
  if (length > 0 && parse_cpu_list(std::string_view(text, std::size_t(length)), cpus)) return;
  cpus.clear();
  for (uint32_t cpu = 0; cpu < possible; ++cpu) cpus.push_back(cpu);
}

bool start_time_matches(uint64_t start_ns, uint64_t start_ticks, long ticks_per_second) {
  if (ticks_per_second <= 0) return true;
  uint64_t expected = start_ns / (1'000'000'000u / uint64_t(ticks_per_second));
  return start_ticks + 1 >= expected && start_ticks <= expected + 1;
}

std::optional<uint64_t> stat_start_ticks(std::string_view line) {
  auto paren = line.rfind(')');  // comm may contain spaces and ')'
  if (paren == std::string_view::npos) return std::nullopt;
  std::size_t pos = paren + 1;
  for (int field = 3; field <= 22; ++field) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    std::size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    if (pos >= end) return std::nullopt;
    if (field == 22) {
      uint64_t value = 0;
      for (std::size_t i = pos; i < end; ++i) {
        if (line[i] < '0' || line[i] > '9') return std::nullopt;
        value = value * 10 + uint64_t(line[i] - '0');
      }
      return value;
    }
    pos = end;
  }
  return std::nullopt;
}

bool process_alive(uint32_t tgid, uint64_t start_ns) {
  if (kill(pid_t(tgid), 0) != 0 && errno == ESRCH) return false;
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%u/stat", tgid);
  char line[1024];
  ssize_t length = read_small_file(path, line, sizeof line);
  if (length < 0) return errno != ENOENT;  // unreadable for another reason: keep it
  auto ticks = stat_start_ticks(std::string_view(line, std::size_t(length)));
  static const long ticks_per_second = sysconf(_SC_CLK_TCK);
  return !ticks || start_time_matches(start_ns, *ticks, ticks_per_second);
}

}  // namespace kepler
