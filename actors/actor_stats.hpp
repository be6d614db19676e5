#pragma once
// Restart counts and mailbox depths that actors record and the engine exports.
// Plain C++ with a mutex: written a few times per interval, read once per snapshot.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "actors/snapshot.hpp"

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
};

}  // namespace kepler
