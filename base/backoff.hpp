#pragma once
// Exponential restart delay with jitter (docs/architecture.md §5): about 100 ms doubling to 30 s.

#include <algorithm>
#include <chrono>
#include <functional>

namespace kepler {

class backoff {
 public:
  using duration = std::chrono::milliseconds;
  /// `random` returns a value in [0, 1); injected so tests are deterministic.
  backoff(duration initial, duration cap, std::function<double()> random)
      : initial_(initial), cap_(cap), next_(initial), random_(std::move(random)) {}

  /// The delay before the next restart: the current step ±20 %, then the step doubles.
  duration next() {
    double jitter = 0.8 + 0.4 * random_();
    auto delay = duration(static_cast<long>(static_cast<double>(next_.count()) * jitter));
    next_ = std::min(cap_, next_ * 2);
    return delay;
  }
  /// Back to the initial step after a stable period.
  void reset() { next_ = initial_; }

 private:
  duration initial_, cap_, next_;
  std::function<double()> random_;
};

}  // namespace kepler
