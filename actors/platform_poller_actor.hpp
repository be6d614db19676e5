#pragma once
// One BMC's poller: reads the node's power over Redfish on its own schedule, on its own thread
// (spawn it detached), and leaves every reading in the BMC's platform_feed. The engine never
// waits for a BMC: the platform zone's sampler reads the feed, which answers at once.

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

#include "actors/messages.hpp"
#include "sensors/platform/bmc_poll_policy.hpp"
#include "sensors/platform/platform_feed.hpp"
#include "sensors/platform/redfish_client.hpp"
#include "sensors/platform/redfish_file.hpp"

namespace kepler {

struct platform_poller_config {
  redfish_bmc bmc;
  std::chrono::milliseconds http_timeout{5000};
  std::chrono::milliseconds poll_interval{10'000};
  std::shared_ptr<platform_feed> feed;
  /// Raised at shutdown so a request in progress gives up within ~100 ms.
  std::shared_ptr<std::atomic<bool>> stopping = std::make_shared<std::atomic<bool>>(false);
};

struct platform_poller_state {
  static inline const char* name = "redfish_poller";
  std::optional<redfish_client> client;
  std::unique_ptr<redfish_power_reader> reader;
  std::unique_ptr<bmc_poll_policy> policy;
  bool described = false;  ///< the reader's choice was logged
  bool last_ok = false;    ///< the BMC answered the last poll (worth a logout at the end)
};

caf::behavior platform_poller(caf::stateful_actor<platform_poller_state>* self, platform_poller_config config);

}  // namespace kepler
