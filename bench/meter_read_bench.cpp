// Cost of one reading of a zone, per meter: what a sampler pays every interval (and every 100 ms
// for an hwmon power reading). Budget (issue 14): ≤ 20 µs per zone for hwmon and MSR reads.
// Measured through each meter's own reader (the `make_reader` the daemon uses) on trees in a
// temporary directory: hwmon energy counter, power reading (integrated), voltage × current pair;
// an MSR package register (pread on a sparse file standing in for /dev/cpu/0/msr, so the
// figure is the reader's cost without the kernel's rdmsr IPI, which adds ~1-2 µs on hardware);
// RAPL's powercap energy_uj for comparison. Reported: median and p99 of the thread's CPU time
// per reading (wall time on a loaded machine measures waiting for a core).
//
// Usage: meter_read_bench [readings=20000]

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "sensors/power/msr.hpp"
#include "sensors/power/power_meter.hpp"

namespace {

using namespace kepler;
namespace fs = std::filesystem;

int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

/// A machine with every kind of zone: sysfs (powercap, hwmon, topology), procfs (cpuinfo, stat)
/// and an MSR device.
struct bench_machine {
  fs::path root = fs::temp_directory_path() / ("kepler-meter-bench-" + std::to_string(getpid()));

  bench_machine() {
    write_file(root / "rapl/sys/class/powercap/intel-rapl:0/name", "package-0\n");
    write_file(root / "rapl/sys/class/powercap/intel-rapl:0/energy_uj", "123456789\n");
    write_file(root / "rapl/sys/class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
    write_file(root / "hwmon/sys/class/hwmon/hwmon0/name", "amd_energy\n");
    write_file(root / "hwmon/sys/class/hwmon/hwmon0/energy1_input", "123456789\n");
    write_file(root / "hwmon/sys/class/hwmon/hwmon1/name", "acpi_power_meter\n");
    write_file(root / "hwmon/sys/class/hwmon/hwmon1/power1_average", "45000000\n");
    write_file(root / "hwmon/sys/class/hwmon/hwmon2/name", "ina226\n");
    write_file(root / "hwmon/sys/class/hwmon/hwmon2/in1_input", "12000\n");
    write_file(root / "hwmon/sys/class/hwmon/hwmon2/curr1_input", "5000\n");
    write_file(root / "msr/sys/devices/system/cpu/cpu0/topology/physical_package_id", "0\n");
    write_file(root / "msr/sys/devices/system/cpu/cpu0/topology/core_id", "0\n");
    write_file(root / "msr/proc/cpuinfo",
               "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n");
    write_file(root / "msr/dev/cpu/0/msr", "");
    for (auto [address, value] : {std::pair<uint32_t, uint64_t>{0x606, 0xa0e03}, {0x611, 987654}}) {
      int fd = ::open((root / "msr/dev/cpu/0/msr").c_str(), O_WRONLY);
      if (fd < 0 || ::pwrite(fd, &value, sizeof value, address) != sizeof value) std::abort();
      ::close(fd);
    }
  }
  ~bench_machine() { fs::remove_all(root); }

  kepler_config config(const std::string& tree, meter_kind kind) const {
    kepler_config config;
    config.host.sysfs = (root / tree / "sys").string();
    config.host.procfs = (root / tree / "proc").string();
    config.msr.device_path = (root / "msr/dev/cpu/%d/msr").string();
    config.cpu.preferred_meters = {kind};
    return config;
  }
};

/// Median and p99 CPU time of one reading of `zone`.
void measure(const zone_source& zone, const std::string& what, int readings) {
  auto read = zone.make_reader();
  std::vector<int64_t> costs;
  costs.reserve(std::size_t(readings));
  for (int i = 0; i < readings; ++i) {
    int64_t start = thread_cpu_ns();
    auto value = read();
    costs.push_back(thread_cpu_ns() - start);
    if (!value) {
      std::fprintf(stderr, "%s: %s\n", what.c_str(), value.error_message().c_str());
      std::exit(1);
    }
  }
  std::sort(costs.begin(), costs.end());
  std::printf("%-34s median %6.2f µs   p99 %6.2f µs\n", what.c_str(), double(costs[costs.size() / 2]) / 1e3,
              double(costs[costs.size() * 99 / 100]) / 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  int readings = argc > 1 ? std::atoi(argv[1]) : 20000;
  bench_machine machine;
  std::printf("%d readings per zone (thread CPU time)\n", readings);
  auto rapl = select_power_meter(machine.config("rapl", meter_kind::rapl));
  auto hwmon = select_power_meter(machine.config("hwmon", meter_kind::hwmon));
  auto msr = select_power_meter(machine.config("msr", meter_kind::msr));
  if (rapl.zones.size() != 1 || hwmon.zones.size() != 3 || msr.zones.size() != 1) {
    std::fprintf(stderr, "unexpected zones: rapl %zu, hwmon %zu, msr %zu\n", rapl.zones.size(), hwmon.zones.size(),
                 msr.zones.size());
    return 1;
  }
  measure(rapl.zones[0], "rapl energy_uj", readings);
  for (const auto& zone : hwmon.zones)
    measure(zone, "hwmon " + zone.label + " (" + std::string(to_string(zone.provenance.method)) + ")", readings);
  measure(msr.zones[0], "msr package register", readings);
  return 0;
}
