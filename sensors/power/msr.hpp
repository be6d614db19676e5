#pragma once
// RAPL energy counters read straight from the model-specific registers through the msr driver
// (`/dev/cpu/<n>/msr`, which needs CAP_SYS_RAWIO): the way in where the powercap tree is missing
// or locked down. One CPU per physical package reads that package's registers.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace kepler {

/// Register addresses: Intel SDM vol. 4 (RAPL interfaces), AMD PPR for family 17h and later.
namespace msr_address {
inline constexpr uint32_t intel_power_unit = 0x606;
inline constexpr uint32_t intel_package_energy = 0x611;
inline constexpr uint32_t intel_dram_energy = 0x619;
inline constexpr uint32_t intel_pp0_energy = 0x639;   ///< the cores
inline constexpr uint32_t intel_pp1_energy = 0x641;   ///< the uncore (graphics on client parts)
inline constexpr uint32_t intel_psys_energy = 0x64d;  ///< the platform, one per system
inline constexpr uint32_t amd_power_unit = 0xc0010299;
inline constexpr uint32_t amd_core_energy = 0xc001029a;  ///< one per core
inline constexpr uint32_t amd_package_energy = 0xc001029b;
}  // namespace msr_address

/// Joules per count of the energy status registers: 1 / 2^ESU, ESU being bits 12:8 of the power
/// unit register (Intel and AMD alike), in µJ.
double msr_energy_unit_uj(uint64_t power_unit_register);

/// One counter of a zone: a register of one CPU.
struct msr_counter {
  int cpu = 0;
  uint32_t address = 0;
};

/// A zone read through MSRs: one register on one CPU of its package, or (AMD's cores) one per
/// core, summed.
struct msr_zone {
  std::string name;  ///< package, core, uncore, dram, psys (the powercap names)
  int package = 0;
  std::vector<msr_counter> counters;
  double unit_uj = 0;  ///< µJ per count
};

struct msr_discovery {
  std::vector<msr_zone> zones;
  std::vector<std::string> warnings;
};

/// Reads the 64-bit register `address` of the CPU whose device is `device` (pread at the
/// register's offset, as the msr driver wants).
result<uint64_t> read_msr(const std::string& device, uint32_t address);

/// The MSR device of `cpu` from a template holding `%d` (msr.devicePath).
std::string msr_device(const std::string& device_path_template, int cpu);

/// The zones of this machine: the vendor from `<procfs>/cpuinfo`, one CPU per package from
/// `<sysfs>/devices/system/cpu/cpu*/topology/physical_package_id`, and every energy register
/// that reads on it. Warnings say what could not be used and why.
msr_discovery discover_msr(const std::string& device_path_template, const std::string& sysfs_root,
                           const std::string& procfs_root);

/// A zone's energy as one counter in µJ: each register's low 32 bits wrap on their own, so a
/// zone of one register wraps at 2^32 counts (`msr_zone_range_uj`), and a summed zone is
/// unwrapped register by register (reading at least once per wrap period) and never wraps.
std::function<result<uint64_t>()> msr_zone_reader(const msr_zone& zone, const std::string& device_path_template);

/// Names a zone's registers, e.g. `/dev/cpu/0/msr@0x611`, or `/dev/cpu/0/msr@0xc001029a (8 cores)`.
std::string msr_zone_path(const msr_zone& zone, const std::string& device_path_template);

/// Where a zone's counter wraps in µJ, 0 for a summed zone (which does not).
uint64_t msr_zone_range_uj(const msr_zone& zone);

}  // namespace kepler
