#include "sensors/power/msr.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <system_error>

#include "base/text.hpp"
#include "sensors/power/sysfs_value.hpp"
#include "sensors/proc/procfs.hpp"

namespace kepler {

namespace fs = std::filesystem;

namespace {

constexpr double counter_span = 4294967296.0;  // the energy status registers count in 32 bits

/// Intel server models whose DRAM domain counts in fixed 15.3 µJ units whatever the unit register
/// says (family 6: Haswell-X, Broadwell-X and -D, Skylake/Cascade Lake-X, Xeon Phi, Ice Lake-X
/// and -D, Sapphire and Emerald Rapids), as the kernel's intel_rapl driver also assumes.
bool fixed_dram_unit(const cpu_info& cpu) {
  static const std::set<int> models = {0x3f, 0x4f, 0x56, 0x55, 0x57, 0x85, 0x6a, 0x6c, 0x8f, 0xcf};
  int family = 0, model = 0;
  return parse_decimal(cpu.cpu_family, family) && family == 6 && parse_decimal(cpu.model, model) &&
         models.contains(model);
}
constexpr double fixed_dram_unit_uj = 15.3;

/// Each package's CPUs by core: package → core → its first CPU (the lowest number).
using topology = std::map<int, std::map<int, int>>;

topology read_topology(const std::string& sysfs_root, std::vector<std::string>& warnings) {
  topology packages;
  const fs::path root = fs::path(sysfs_root) / "devices" / "system" / "cpu";
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    int cpu = 0;
    if (!name.starts_with("cpu") || !parse_decimal(std::string_view(name).substr(3), cpu)) continue;
    auto package = read_signed_file((it->path() / "topology" / "physical_package_id").string());
    auto core = read_signed_file((it->path() / "topology" / "core_id").string());
    if (!package || !core) continue;  // offline CPUs have no topology
    auto& cores = packages[static_cast<int>(package.value())];
    auto [first, inserted] = cores.try_emplace(static_cast<int>(core.value()), cpu);
    if (!inserted) first->second = std::min(first->second, cpu);
  }
  if (ec) warnings.push_back("unable to list " + root.string() + ": " + ec.message());
  return packages;
}

int first_cpu(const std::map<int, int>& cores) {
  int lowest = cores.begin()->second;
  for (const auto& [core, cpu] : cores) lowest = std::min(lowest, cpu);
  return lowest;
}

struct vendor_registers {
  uint32_t power_unit;
  std::vector<std::pair<std::string, uint32_t>> per_package;  ///< zone name → register
  uint32_t per_core = 0;                                      ///< AMD's core energy, 0 = none
};

vendor_registers registers_of(const std::string& vendor) {
  using namespace msr_address;
  if (vendor == "GenuineIntel")
    return {intel_power_unit,
            {{"package", intel_package_energy},
             {"core", intel_pp0_energy},
             {"uncore", intel_pp1_energy},
             {"dram", intel_dram_energy}},
            0};
  return {amd_power_unit, {{"package", amd_package_energy}}, amd_core_energy};  // AuthenticAMD, HygonGenuine
}

void add_package_zones(msr_discovery& out, const std::string& device_template, int package,
                       const std::map<int, int>& cores, const cpu_info& cpu, const vendor_registers& regs) {
  const int reader = first_cpu(cores);
  const auto device = msr_device(device_template, reader);
  auto unit_register = read_msr(device, regs.power_unit);
  if (!unit_register) {
    out.warnings.push_back("no MSR zones for package " + std::to_string(package) + ": " +
                           unit_register.error_message());
    return;
  }
  const double unit = msr_energy_unit_uj(unit_register.value());
  for (const auto& [name, address] : regs.per_package) {
    if (!read_msr(device, address)) continue;  // a domain this CPU does not have
    double zone_unit = name == "dram" && fixed_dram_unit(cpu) ? fixed_dram_unit_uj : unit;
    out.zones.push_back(msr_zone{name, package, {{reader, address}}, zone_unit});
  }
  if (regs.per_core != 0) {
    msr_zone zone{"core", package, {}, unit};
    for (const auto& [core, core_cpu] : cores)
      if (read_msr(msr_device(device_template, core_cpu), regs.per_core))
        zone.counters.push_back({core_cpu, regs.per_core});
    if (!zone.counters.empty()) out.zones.push_back(std::move(zone));
  }
  if (package == 0 && cpu.vendor_id == "GenuineIntel" && read_msr(device, msr_address::intel_psys_energy))
    out.zones.push_back(msr_zone{"psys", 0, {{reader, msr_address::intel_psys_energy}}, unit});
}

/// Counts of a zone's registers, unwrapped one by one into a 64-bit total.
class summed_counter {
 public:
  summed_counter(msr_zone zone, std::string device_template)
      : zone_(std::move(zone)), device_template_(std::move(device_template)), last_(zone_.counters.size()) {}

  result<uint64_t> read() {
    std::vector<uint64_t> now;
    for (const auto& counter : zone_.counters) {
      auto value = read_msr(msr_device(device_template_, counter.cpu), counter.address);
      if (!value) return value.error();
      now.push_back(value.value() & 0xffffffffu);
    }
    for (std::size_t i = 0; i < now.size(); ++i) {
      total_counts_ += started_ ? (now[i] - last_[i]) & 0xffffffffu : now[i];
      last_[i] = now[i];
    }
    started_ = true;
    return static_cast<uint64_t>(std::floor(static_cast<double>(total_counts_) * zone_.unit_uj));
  }

 private:
  msr_zone zone_;
  std::string device_template_;
  std::vector<uint64_t> last_;
  uint64_t total_counts_ = 0;
  bool started_ = false;
};

}  // namespace

double msr_energy_unit_uj(uint64_t power_unit_register) {
  const auto esu = static_cast<int>((power_unit_register >> 8) & 0x1f);
  return 1e6 / std::ldexp(1.0, esu);
}

std::string msr_device(const std::string& device_path_template, int cpu) {
  auto at = device_path_template.find("%d");
  if (at == std::string::npos) return device_path_template;
  return device_path_template.substr(0, at) + std::to_string(cpu) + device_path_template.substr(at + 2);
}

result<uint64_t> read_msr(const std::string& device, uint32_t address) {
  const int fd = ::open(device.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string hint = err == ENOENT                   ? " (is the msr module loaded?)"
                       : err == EACCES || err == EPERM ? " (needs CAP_SYS_RAWIO)"
                                                       : "";
    return make_error(errc::io, "unable to open " + device + ": " + errno_text(err) + hint);
  }
  uint64_t value = 0;
  ssize_t n = 0;
  do {
    n = ::pread(fd, &value, sizeof value, static_cast<off_t>(address));
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%x", address);
  if (n < 0)
    return make_error(errc::io, "unable to read MSR " + std::string(hex) + " of " + device + ": " + errno_text(err));
  if (n != sizeof value) return make_error(errc::io, "short read of MSR " + std::string(hex) + " of " + device);
  return value;
}

msr_discovery discover_msr(const std::string& device_path_template, const std::string& sysfs_root,
                           const std::string& procfs_root) {
  msr_discovery out;
  auto cpuinfo = read_text_file(procfs_root + "/cpuinfo");
  auto cpus = cpuinfo ? parse_cpuinfo(cpuinfo.value()) : std::vector<cpu_info>{};
  if (cpus.empty()) {
    out.warnings.push_back("no MSR zones: no CPU in " + procfs_root + "/cpuinfo");
    return out;
  }
  const auto& cpu = cpus.front();
  if (cpu.vendor_id != "GenuineIntel" && cpu.vendor_id != "AuthenticAMD" && cpu.vendor_id != "HygonGenuine") {
    out.warnings.push_back("no MSR zones: no RAPL registers on a " +
                           (cpu.vendor_id.empty() ? std::string("non-x86") : cpu.vendor_id) + " CPU");
    return out;
  }
  auto packages = read_topology(sysfs_root, out.warnings);
  if (packages.empty()) {
    out.warnings.push_back("no MSR zones: no CPU topology under " + sysfs_root + "/devices/system/cpu");
    return out;
  }
  const auto regs = registers_of(cpu.vendor_id);
  for (const auto& [package, cores] : packages) add_package_zones(out, device_path_template, package, cores, cpu, regs);
  return out;
}

std::function<result<uint64_t>()> msr_zone_reader(const msr_zone& zone, const std::string& device_path_template) {
  if (zone.counters.size() > 1) {
    auto summed = std::make_shared<summed_counter>(zone, device_path_template);
    return [summed] { return summed->read(); };
  }
  auto device = msr_device(device_path_template, zone.counters.front().cpu);
  auto address = zone.counters.front().address;
  double unit = zone.unit_uj;
  return [device, address, unit]() -> result<uint64_t> {
    auto value = read_msr(device, address);
    if (!value) return value.error();
    return static_cast<uint64_t>(std::floor(static_cast<double>(value.value() & 0xffffffffu) * unit));
  };
}

std::string msr_zone_path(const msr_zone& zone, const std::string& device_path_template) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%x", zone.counters.front().address);
  auto path = msr_device(device_path_template, zone.counters.front().cpu) + "@" + hex;
  if (zone.counters.size() > 1) path += " (" + std::to_string(zone.counters.size()) + " cores)";
  return path;
}

uint64_t msr_zone_range_uj(const msr_zone& zone) {
  if (zone.counters.size() > 1) return 0;
  return static_cast<uint64_t>(std::floor(counter_span * zone.unit_uj));
}

}  // namespace kepler
