#pragma once
// Which source gives the node's whole power (docs/platform.md): the BMC over Redfish where it is
// enabled and the BMC file names this node, else the ACPI power meter where there is one.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/log_note.hpp"
#include "config/config.hpp"
#include "sensors/platform/platform_feed.hpp"
#include "sensors/platform/redfish_file.hpp"
#include "sensors/power/power_meter.hpp"

namespace kepler {

struct platform_source {
  std::string source;                   ///< redfish or acpi; empty: none
  std::optional<zone_source> zone;      ///< the platform zone the engine attributes, if any
  std::optional<redfish_bmc> bmc;       ///< the BMC to poll (redfish)
  std::shared_ptr<platform_feed> feed;  ///< where its poller leaves the readings (redfish)
  std::vector<log_note> notes;          ///< what was found or decided, for the start-up log
};

/// Chooses the platform source. Like v0.11, a BMC file that is wrong or does not name this node
/// (`experimental.platform.redfish.nodeName`, else kube.nodeName, else `host_name`) is a
/// warning, not an error. A BMC that measures several nodes (a blade chassis) is polled and
/// exported but gives no zone: its power is not this node's.
platform_source select_platform_source(const kepler_config& config, std::string_view host_name);

}  // namespace kepler
