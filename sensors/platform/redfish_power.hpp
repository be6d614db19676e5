#pragma once
// What a Redfish BMC says about the node's power, read through any transport that GETs a path
// and returns the JSON body (sensors/platform/redfish_client.hpp in the daemon, files in tests).
//
// Two sets of figures come out of one poll:
// - `series`: kepler_platform_watts as Kepler v0.11 exports it. v0.11 picks one strategy for the
//   whole BMC when it starts: PowerSubsystem power supplies with a (non-standard)
//   PowerOutputWatts, else Power.PowerControl[].PowerConsumedWatts. Where neither yields a
//   reading (a BMC with only the current schema) v0.11 exports nothing; we then export each
//   chassis's EnvironmentMetrics.PowerWatts, else its power supplies' Metrics.InputPowerWatts.
// - the node figure: the node's whole power (and energy, where the BMC counts it) from one
//   chassis, the first that is not inside another (a SmartNIC card inside the server would
//   count twice), read from the best resource it has (docs/platform.md has the order).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace kepler {

/// GETs a path of the BMC (`/redfish/v1/...`) and returns the body.
using redfish_get = std::function<result<std::string>(std::string_view path)>;

/// One series of kepler_platform_watts, labelled as v0.11 labels it.
struct redfish_series {
  std::string chassis_id;
  std::string source_id;    ///< MemberId of a PowerControl, Id of a power supply, ...
  std::string source_name;  ///< its Name
  std::string source_type;  ///< PowerControl, PowerSupply (v0.11's), EnvironmentMetrics (ours)
  double watts = 0;
};

/// The node's figure from one poll.
struct redfish_node_power {
  std::string chassis_id;
  std::string resource;  ///< what it was read from, e.g. "EnvironmentMetrics.PowerWatts"
  double watts = 0;
  /// The BMC's own energy counter in joules (EnvironmentMetrics.EnergyJoules), when it has one.
  std::optional<double> energy_joules;
};

struct redfish_poll {
  std::vector<redfish_series> series;
  std::optional<redfish_node_power> node;  ///< none when no chassis gave a usable figure
};

/// Reads a BMC's power. The first read discovers the chassis and what each offers (every
/// resource once); later reads fetch only what the chosen figures need. A read that fails
/// leaves the discovery in place unless the chassis list itself could not be read.
class redfish_power_reader {
 public:
  explicit redfish_power_reader(redfish_get get) : get_(std::move(get)) {}

  /// One poll: every series and the node figure, or the first error that stopped it (an
  /// error of kind `parse` for JSON that is not what Redfish promises).
  result<redfish_poll> read();

  /// Forgets the discovery, so the next read starts over (after the BMC restarted).
  void rediscover() { plan_.reset(); }

  /// What the reader chose, for the start-up log; empty before the first successful read.
  std::string describe() const;

  struct chassis;  ///< one chassis as discovered, with what to read from it
  struct plan;     ///< every chassis, and which resources a poll reads

 private:
  result<redfish_poll> poll_with(const plan& plan);

  redfish_get get_;
  std::shared_ptr<plan> plan_;
};

}  // namespace kepler
