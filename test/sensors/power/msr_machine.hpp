#pragma once
// A machine for the MSR reader's tests: cpuinfo, CPU topology, and a sparse file standing in for
// each CPU's /dev/cpu/<n>/msr, its registers written at their offsets (reading an unwritten
// register past the end fails, as an absent one does on the real device).

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "sensors/power/msr.hpp"
#include "test/sensors/test_support.hpp"

namespace kepler::test {

/// `packages` × `cores_per_package` CPUs of one vendor (and x86 model, for Intel's DRAM unit).
struct msr_machine {
  temp_dir root;

  msr_machine(const std::string& vendor, int packages, int cores_per_package, const std::string& model = "85") {
    std::string cpuinfo;
    for (int cpu = 0; cpu < packages * cores_per_package; ++cpu) {
      cpuinfo += "processor\t: " + std::to_string(cpu) + "\nvendor_id\t: " + vendor +
                 "\ncpu family\t: " + (vendor == "GenuineIntel" ? "6" : "25") + "\nmodel\t\t: " + model + "\n\n";
      auto dir = "sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
      root.write(dir + "physical_package_id", std::to_string(cpu / cores_per_package) + "\n");
      root.write(dir + "core_id", std::to_string(cpu % cores_per_package) + "\n");
      root.write("dev/cpu/" + std::to_string(cpu) + "/msr", "");
    }
    root.write("proc/cpuinfo", cpuinfo);
  }

  std::string device_template() const { return root.path("dev/cpu/%d/msr"); }

  void set(int cpu, uint32_t address, uint64_t value) const {
    int fd = ::open(root.path("dev/cpu/" + std::to_string(cpu) + "/msr").c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, &value, sizeof value, static_cast<off_t>(address)) == sizeof value);
    ::close(fd);
  }

  msr_discovery discover() const { return discover_msr(device_template(), root.path("sys"), root.path("proc")); }
};

}  // namespace kepler::test
