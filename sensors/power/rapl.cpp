#include "sensors/power/rapl.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>
#include <utility>

#include "base/text.hpp"
#include "sensors/power/sysfs_value.hpp"
#include "sensors/proc/procfs.hpp"

namespace kepler {

namespace fs = std::filesystem;

namespace {

/// A directory that may be a zone: its full path and its own name.
struct candidate {
  std::string path;
  std::string dir_name;
};

/// Zone directories are `<control type>:<id>[:<id>]`; the control-type directories
/// themselves (`intel-rapl`, `intel-rapl-mmio`) carry no colon and no `name`.
bool is_control_dir(std::string_view dir_name) { return dir_name.find(':') == std::string_view::npos; }

/// The MSR-backed `intel-rapl:` zones are preferred over their `intel-rapl-mmio:` twins.
bool is_standard_zone(const candidate& c) { return c.dir_name.starts_with("intel-rapl:"); }

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

/// Entries of `<sysfs>/class/powercap` (symlinks to the device tree), in byte order.
std::vector<candidate> list_flat(const fs::path& root, std::vector<std::string>& warnings) {
  std::vector<candidate> found;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code dir_ec;
    if (!it->is_directory(dir_ec)) continue;  // follows the symlinks
    found.push_back({it->path().string(), it->path().filename().string()});
  }
  if (ec) warnings.push_back("unable to list " + root.string() + ": " + ec.message());
  std::sort(found.begin(), found.end(), [](const candidate& a, const candidate& b) { return a.dir_name < b.dir_name; });
  return found;
}

/// Zone directories anywhere below `<sysfs>/devices/virtual/powercap`, in byte order of
/// their paths. Symlinks and attribute folders such as `power/` are not descended into.
std::vector<candidate> list_nested(const fs::path& root, std::vector<std::string>& warnings) {
  std::vector<candidate> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_symlink(type_ec) || !it->is_directory(type_ec)) {
      it.disable_recursion_pending();
      continue;
    }
    auto name = it->path().filename().string();
    if (it.depth() > 0 && is_control_dir(name)) {
      it.disable_recursion_pending();
      continue;
    }
    found.push_back({it->path().string(), std::move(name)});
  }
  if (ec) warnings.push_back("unable to list " + root.string() + ": " + ec.message());
  std::sort(found.begin(), found.end(), [](const candidate& a, const candidate& b) { return a.path < b.path; });
  return found;
}

/// Splits `package-1` into (`package`, 1); false unless the name is `<base>-<digits>` with
/// exactly one '-'.
bool split_indexed_name(std::string_view name, std::string_view& base, int& index) {
  const auto dash = name.find('-');
  if (dash == std::string_view::npos || dash == 0 || name.rfind('-') != dash) return false;
  const auto suffix = name.substr(dash + 1);
  if (suffix.empty() || suffix.front() == '-' || suffix.front() == '+') return false;
  if (!parse_decimal(suffix, index)) return false;
  base = name.substr(0, dash);
  return true;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

/// Reads a candidate's trimmed `name` and its `max_energy_range_uj`; false (with a warning
/// unless it is a control-type directory) when the entry is not a usable zone. `energy_uj`
/// is only checked for presence: it is root-only on current kernels, and reading it is the
/// sampler's job.
bool read_zone_files(const candidate& c, std::string& name, uint64_t& max_uj, std::vector<std::string>& warnings) {
  auto name_text = read_text_file(c.path + "/name");
  name = name_text ? std::string(trim_space(name_text.value())) : std::string();
  if (name.empty()) {
    if (!is_control_dir(c.dir_name))
      warnings.push_back("skipping powercap zone " + c.path + ": " +
                         (name_text ? "empty name" : name_text.error_message()));
    return false;
  }
  if (!file_exists(c.path + "/energy_uj")) {
    warnings.push_back("skipping RAPL zone " + c.path + ": no energy_uj file");
    return false;
  }
  const auto max_path = c.path + "/max_energy_range_uj";
  auto max_text = read_text_file(max_path);
  if (!max_text) {
    warnings.push_back("skipping RAPL zone " + c.path + ": " + max_text.error_message());
    return false;
  }
  const auto max_value = trim_space(max_text.value());
  if (!parse_decimal(max_value, max_uj)) {
    warnings.push_back("skipping RAPL zone " + c.path + ": invalid " + max_path + ": '" + std::string(max_value) + "'");
    return false;
  }
  return true;
}

}  // namespace

rapl_discovery discover_rapl_zones(const std::string& sysfs_root, const std::vector<std::string>& zone_filter) {
  rapl_discovery out;
  const fs::path class_root = fs::path(sysfs_root) / "class" / "powercap";
  const fs::path device_root = fs::path(sysfs_root) / "devices" / "virtual" / "powercap";
  std::error_code ec;
  std::vector<candidate> candidates;
  if (fs::is_directory(class_root, ec)) {
    candidates = list_flat(class_root, out.warnings);
  } else if (fs::is_directory(device_root, ec)) {
    candidates = list_nested(device_root, out.warnings);
  } else {
    out.warnings.push_back("no powercap tree: neither " + class_root.string() + " nor " + device_root.string() +
                           " exists");
    return out;
  }

  // Name → next index for names without a numeric suffix (docs/compatibility.md §3.2).
  std::map<std::string, int, std::less<>> next_index;
  // (name, index) → zone, and whether it came from a standard `intel-rapl:` directory.
  std::map<std::pair<std::string, int>, std::pair<rapl_zone, bool>> by_key;
  for (const auto& c : candidates) {
    std::string raw_name;
    uint64_t max_uj = 0;
    if (!read_zone_files(c, raw_name, max_uj, out.warnings)) continue;

    std::string_view base = raw_name;
    int index = 0;  // from the name, never from the directory (ids can be reversed)
    if (!split_indexed_name(raw_name, base, index)) {
      auto it = next_index.find(base);
      index = it == next_index.end() ? 0 : it->second;
    }
    next_index.insert_or_assign(std::string(base), index + 1);

    rapl_zone zone{std::string(base), index, c.path, max_uj};
    const bool standard = is_standard_zone(c);
    auto [it, inserted] = by_key.try_emplace({zone.name, index}, zone, standard);
    if (inserted) continue;
    auto& [kept, kept_standard] = it->second;
    if (kept_standard) {
      if (standard)
        out.warnings.push_back("skipping RAPL zone " + c.path + ": " + zone.name + "-" + std::to_string(index) +
                               " is already provided by " + kept.path);
      continue;
    }
    it->second = {std::move(zone), standard};
  }

  std::set<std::string> allowed;
  for (const auto& name : zone_filter) {
    if (auto trimmed = trim_space(name); !trimmed.empty()) allowed.insert(lower(trimmed));
  }
  for (auto& [key, entry] : by_key) {  // map order: by name, then index
    if (allowed.empty() || allowed.contains(lower(entry.first.name))) out.zones.push_back(std::move(entry.first));
  }
  if (out.zones.empty() && !by_key.empty()) {
    std::string list;
    for (const auto& name : allowed) list += (list.empty() ? "" : ", ") + name;
    out.warnings.push_back("no RAPL zones left after filtering (rapl.zones: " + list + ")");
  }
  return out;
}

result<uint64_t> read_energy_uj(const std::string& zone_path) { return read_unsigned_file(zone_path + "/energy_uj"); }

}  // namespace kepler
