#include "bpf/host_info.hpp"

#include <fcntl.h>
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

void read_online_cpus(const std::string& sysfs_root, std::vector<uint32_t>& cpus, uint32_t possible) {
  char path[4096];
  std::snprintf(path, sizeof path, "%s/devices/system/cpu/online", sysfs_root.c_str());
  char text[256];
  ssize_t length = read_small_file(path, text, sizeof text);
  if (length > 0 && parse_cpu_list(std::string_view(text, std::size_t(length)), cpus)) return;
  cpus.clear();
  for (uint32_t cpu = 0; cpu < possible; ++cpu) cpus.push_back(cpu);
}

}  // namespace kepler
