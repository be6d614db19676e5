#pragma once
// A deterministic CAF 0.17 actor system for Catch2 tests (CAF's own test DSL clashes with
// Catch2): the test coordinator runs messages on demand and simulated time fires timers.

#include <memory>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/messages.hpp"

namespace kepler::testing {

class caf_fixture {
 public:
  caf_fixture() {
    config_.set("scheduler.policy", caf::atom("testing"));
    config_.add_message_types<caf::id_block::kepler>();
    system_ = std::make_unique<caf::actor_system>(config_);
    scheduler_ = &dynamic_cast<caf::scheduler::test_coordinator&>(system_->scheduler());
    self_ = std::make_unique<caf::scoped_actor>(*system_, true);
  }

  ~caf_fixture() {
    self_.reset();
    scheduler_->run();
  }

  caf::actor_system& system() { return *system_; }
  caf::scoped_actor& self() { return *self_; }

  /// Processes every queued message (fires no timers).
  void run() { scheduler_->run(); }

  /// Moves simulated time forward, fires due timers, then processes what they sent.
  void advance(caf::timespan by) {
    scheduler_->clock().advance_time(by);
    scheduler_->run();
  }

  /// Moves simulated time forward and enqueues what fell due, without processing it: for
  /// code under test that takes time (a slow engine), called from inside a handler.
  void pass_time(caf::timespan by) { scheduler_->clock().advance_time(by); }

  /// Stops the given actors and drains their last messages (else ~actor_system waits forever).
  template <class... Handles>
  void shutdown(const Handles&... handles) {
    (caf::anon_send_exit(handles, caf::exit_reason::user_shutdown), ...);
    scheduler_->run();
  }

 private:
  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  caf::scheduler::test_coordinator* scheduler_ = nullptr;
  std::unique_ptr<caf::scoped_actor> self_;
};

}  // namespace kepler::testing
