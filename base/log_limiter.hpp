#pragma once
// Rate limit for log lines about events that can come in floods (dropped connections): one
// line per kind and interval, saying how many of that kind were held back since. Thread-safe.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace kepler {

class log_limiter {
 public:
  explicit log_limiter(std::chrono::nanoseconds interval) : interval_ns_(interval.count()) {}

  /// Whether an event of `kind` at `now_ns` (a monotonic clock) should be logged: then how many
  /// of that kind were held back since the last line, else nothing.
  std::optional<uint64_t> admit(std::string_view kind, int64_t now_ns) {
    std::lock_guard lock(mutex_);
    auto [it, first] = kinds_.try_emplace(std::string(kind));
    auto& state = it->second;
    if (!first && now_ns - state.logged_at_ns < interval_ns_) {
      ++state.held_back;
      return std::nullopt;
    }
    uint64_t held_back = state.held_back;
    state = {now_ns, 0};
    return held_back;
  }

 private:
  struct kind_state {
    int64_t logged_at_ns = 0;
    uint64_t held_back = 0;
  };
  int64_t interval_ns_;
  std::mutex mutex_;
  std::map<std::string, kind_state, std::less<>> kinds_;
};

}  // namespace kepler
