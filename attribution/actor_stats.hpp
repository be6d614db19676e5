#pragma once
// Restart counts, mailbox depths, rejected readings and dropped HTTP connections that actors
// and the HTTP server record and the engine exports.
// Plain C++ with a mutex: written a few times per interval, read once per snapshot.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "attribution/snapshot.hpp"

namespace kepler {

class actor_stats {
 public:
  void set_mailbox_depth(const std::string& actor, uint64_t depth) {
    std::lock_guard lock(mutex_);
    by_actor_[actor].mailbox_depth = depth;
  }
  void add_restart(const std::string& actor) {
    std::lock_guard lock(mutex_);
    ++by_actor_[actor].restarts;
  }
  /// Makes a zone's rejection counters exist (at 0) before anything is rejected.
  void add_zone(const std::string& source, const std::string& zone) {
    std::lock_guard lock(mutex_);
    for (const char* reason : {"out_of_range", "reset", "implausible"})
      rejected_.try_emplace({source, zone, reason}, 0);
  }
  void add_rejected(const std::string& source, const std::string& zone, std::string_view reason) {
    std::lock_guard lock(mutex_);
    ++rejected_[{source, zone, std::string(reason)}];
  }
  std::vector<rejected_readings> rejected() const {
    std::lock_guard lock(mutex_);
    std::vector<rejected_readings> out;
    for (const auto& [key, count] : rejected_)
      out.push_back(rejected_readings{std::get<0>(key), std::get<1>(key), std::get<2>(key), count});
    return out;
  }
  /// Makes a reason's counter of dropped HTTP connections exist (at 0) before anything drops.
  void add_http_drop_reason(std::string_view reason) {
    std::lock_guard lock(mutex_);
    http_drops_.try_emplace(std::string(reason), 0);
  }
  void add_http_drop(std::string_view reason) {
    std::lock_guard lock(mutex_);
    ++http_drops_[std::string(reason)];
  }
  std::vector<http_drop_count> http_drops() const {
    std::lock_guard lock(mutex_);
    std::vector<http_drop_count> out;
    for (const auto& [reason, count] : http_drops_) out.push_back(http_drop_count{reason, count});
    return out;
  }
  std::vector<actor_health> read() const {
    std::lock_guard lock(mutex_);
    std::vector<actor_health> out;
    for (const auto& [name, health] : by_actor_)
      out.push_back(actor_health{name, health.restarts, health.mailbox_depth});
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, actor_health> by_actor_;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> rejected_;  ///< (source, zone, reason)
  std::map<std::string, uint64_t> http_drops_;                                      ///< by reason
};

}  // namespace kepler
