#pragma once
// Between a BMC's poller and the daemon: the latest readings, turned into an energy counter the
// engine reads like any zone's (sensors/power/energy_reading.hpp), and what the exporter says
// about the BMC. The poller writes, the platform sampler and the engine read: thread-safe.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/named_enum.hpp"
#include "base/result.hpp"
#include "sensors/platform/redfish_power.hpp"

namespace kepler {

/// How a BMC request failed, as kepler_platform_errors_total{kind} counts it.
#define KEPLER_BMC_FAULTS(X)                                                               \
  X(unreachable, "unreachable")   /* no connection, or it broke mid-request */             \
  X(tls, "tls")                   /* the TLS handshake failed (the certificate, mostly) */ \
  X(timeout, "timeout")           /* no complete answer within httpTimeout */              \
  X(auth, "auth")                 /* credentials refused (401, 403) */                     \
  X(rate_limited, "rate_limited") /* 429 or 503: the BMC asks to come back later */        \
  X(http_error, "http_error")     /* any other failure status */                           \
  X(bad_response, "bad_response") /* not the JSON Redfish promises, or too large */        \
  X(no_reading, "no_reading")     /* answered, but no chassis gave the node's power */
KEPLER_NAMED_ENUM(bmc_fault, KEPLER_BMC_FAULTS)

bmc_fault classify_bmc_error(const error& failure);

/// Turns the node's power readings into energy in µJ since the first one. A reading's power is
/// held from when it was taken until the next one, but at most `staleness`: a BMC that stops
/// answering adds nothing after that (the gap is not measured, so nothing is invented). Where
/// the BMC counts energy itself, its counter's advance is taken instead, gap included; between
/// two counter readings the power fills in, and the total never runs backwards.
class platform_energy {
 public:
  explicit platform_energy(int64_t staleness_ns) : staleness_ns_(staleness_ns) {}

  void add(const redfish_node_power& node, int64_t mono_ns);

  /// The energy up to `now_ns`; an error (kind unavailable) before the first reading and while
  /// the last one is older than the staleness.
  result<uint64_t> energy_at(int64_t now_ns);

 private:
  int64_t staleness_ns_;
  std::optional<redfish_node_power> last_;
  int64_t last_ns_ = 0;
  uint64_t settled_uj_ = 0;   ///< up to the last reading
  uint64_t reported_uj_ = 0;  ///< the most ever returned: the floor of every later answer
};

/// What kepler_platform_* export about one platform source.
struct platform_report {
  std::string source;  ///< redfish, acpi
  std::string bmc_id;
  std::vector<redfish_series> series;  ///< the latest poll's, while it is fresh
  std::optional<double> reading_age_seconds;
  std::string resource;                    ///< the node figure's resource
  std::string method;                      ///< counter or integrated_power
  std::map<std::string, uint64_t> errors;  ///< by bmc_fault text, every kind present
};

/// One BMC's latest state, shared by its poller and the daemon.
class platform_feed {
 public:
  platform_feed(std::string bmc_id, std::chrono::nanoseconds staleness);

  void record_poll(const redfish_poll& poll, int64_t mono_ns);
  void record_failure(bmc_fault fault);

  /// The node's energy counter now (the platform zone's reading).
  result<uint64_t> energy_uj(int64_t now_ns);
  platform_report report(int64_t now_ns) const;

 private:
  mutable std::mutex mutex_;
  std::string bmc_id_;
  int64_t staleness_ns_;
  platform_energy energy_;
  redfish_poll last_poll_;
  std::optional<int64_t> last_poll_ns_;
  std::map<std::string, uint64_t> errors_;
};

}  // namespace kepler
