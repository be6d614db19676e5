#pragma once
// Power and energy channels of hwmon chips (the kernel's Documentation/hwmon/sysfs-interface):
// energy counters (`energyN_input`, µJ), power readings (`powerN_average` or `powerN_input`, µW)
// and, on chips with neither, voltage × current pairs (`inN_input` mV × `currN_input` mA = µW).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "config/config.hpp"

namespace kepler {

/// The pairing rules of common power-monitor chips (from their kernel drivers' documentation),
/// used when no configured rule names the chip.
const std::vector<hwmon_chip_rule>& builtin_hwmon_chip_rules();

/// How often a power reading without an averaging interval is taken to integrate it: twice as
/// often as the 100 ms at which power monitors commonly update, so each step is seen (a power
/// that changes faster than this is sampled, not averaged). About 20 reads of ≤ 10 µs a second.
inline constexpr std::chrono::milliseconds hwmon_power_sample_period{50};

enum class hwmon_channel_kind { energy, power, voltage_current };

/// One channel that measures power or energy.
struct hwmon_channel {
  std::string chip;    ///< the chip's name: from its `device` link, else its `name` file, else its directory
  std::string driver;  ///< the chip's `name` file (its driver's: `power_meter` for the ACPI power meter)
  std::string zone;    ///< the rule's zone, else the channel's label, else `<chip>_<channel>`
  std::string id;      ///< energy1, power2, in1*curr1
  hwmon_channel_kind kind = hwmon_channel_kind::power;
  std::string path;                               ///< the value file; for a pair, the voltage file
  std::string current_path;                       ///< for a pair, the current file
  std::chrono::milliseconds average_interval{0};  ///< `powerN_average_interval`, 0 = not given
  uint64_t energy_range_uj = 0;                   ///< energy: wrap boundary, 0 = none
};

struct hwmon_discovery {
  std::vector<hwmon_channel> channels;
  std::vector<std::string> warnings;
};

/// The channels under `<sysfs_root>/class/hwmon`, chip by chip: a chip's energy counters when it
/// has any, else its power readings (the average preferred), else its voltage × current pairs.
/// `zone_filter` keeps only the named zones (case-insensitive; empty = all). Chips and channels
/// come in name order; unreadable entries are skipped with a warning.
hwmon_discovery discover_hwmon(const std::string& sysfs_root, const std::vector<hwmon_chip_rule>& rules,
                               const std::vector<std::string>& zone_filter);

/// A channel's value now: µJ for an energy counter, µW for power and for a voltage × current pair.
result<uint64_t> read_hwmon_value(const hwmon_channel& channel);

/// Lower case, anything but [a-z0-9:_] as `_`, no `_` at either end (Kepler's zone names).
std::string clean_hwmon_name(std::string_view text);

}  // namespace kepler
