#pragma once
// When to poll a BMC next, and what to log about it. BMCs are slow and flaky (seconds per
// answer, rate limits, restarts): after a failure the poller backs off from the poll interval
// up to five minutes, or waits as long as a 429/503's Retry-After asks (capped the same way),
// and the log gets one line per change of the kind of failure, not one per poll.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "base/backoff.hpp"
#include "base/log_note.hpp"
#include "base/result.hpp"
#include "sensors/platform/platform_feed.hpp"

namespace kepler {

class bmc_poll_policy {
 public:
  using duration = std::chrono::milliseconds;
  static constexpr duration longest_wait = std::chrono::minutes(5);

  /// `random` in [0, 1) jitters the backoff (injected so tests are deterministic).
  bmc_poll_policy(std::string bmc_id, duration interval, std::function<double()> random);

  struct step {
    duration next_poll;
    std::optional<log_note> note;
    bool rediscover = false;  ///< start the chassis discovery over (the BMC changed or restarted)
  };

  /// After a poll that gave readings.
  step succeeded();
  /// After a poll that failed with `failure` (and the BMC's Retry-After, if it sent one).
  step failed(const error& failure, std::optional<std::chrono::seconds> retry_after);

 private:
  std::string bmc_id_;
  duration interval_;
  backoff backoff_;
  std::optional<bmc_fault> logged_fault_;
  uint64_t failures_in_a_row_ = 0;
};

}  // namespace kepler
