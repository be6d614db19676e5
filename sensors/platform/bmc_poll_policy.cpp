#include "sensors/platform/bmc_poll_policy.hpp"

#include <algorithm>

namespace kepler {

bmc_poll_policy::bmc_poll_policy(std::string bmc_id, duration interval, std::function<double()> random)
    : bmc_id_(std::move(bmc_id)),
      interval_(interval),
      backoff_(interval, std::max(interval, longest_wait), std::move(random)) {}

bmc_poll_policy::step bmc_poll_policy::succeeded() {
  step next{interval_, std::nullopt, false};
  if (failures_in_a_row_ > 0)
    next.note = log_note{false, "BMC " + bmc_id_ + " answers again after " + std::to_string(failures_in_a_row_) +
                                    " failed poll(s)"};
  failures_in_a_row_ = 0;
  logged_fault_.reset();
  backoff_.reset();
  return next;
}

bmc_poll_policy::step bmc_poll_policy::failed(const error& failure, std::optional<std::chrono::seconds> retry_after) {
  const auto fault = classify_bmc_error(failure);
  ++failures_in_a_row_;
  step next{backoff_.next(), std::nullopt, false};
  if (fault == bmc_fault::rate_limited && retry_after)
    next.next_poll = std::clamp<duration>(*retry_after, interval_, std::max(interval_, longest_wait));
  // Garbage, a missing resource or no reading: the BMC may have restarted with other chassis.
  next.rediscover = fault == bmc_fault::bad_response || fault == bmc_fault::no_reading ||
                    (fault == bmc_fault::http_error && failure.status == 404);
  if (logged_fault_ != fault) {
    logged_fault_ = fault;
    next.note = log_note{true, "BMC " + bmc_id_ + ": " + std::string(to_string(fault)) + ": " + failure.message +
                                   "; next try in " + std::to_string(next.next_poll.count() / 1000) +
                                   " s (logged again when the failure changes)"};
  }
  return next;
}

}  // namespace kepler
