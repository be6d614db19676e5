#include "actors/platform_poller_actor.hpp"

#include <spdlog/spdlog.h>

#include "actors/logging.hpp"
#include "base/clock.hpp"

namespace kepler {
namespace {

using poller_ptr = caf::stateful_actor<platform_poller_state>*;

/// One poll; returns how long to wait before the next.
std::chrono::milliseconds poll_once(poller_ptr self, const platform_poller_config& config) {
  auto& st = self->state;
  auto poll = st.reader->read();
  if (!poll && poll.error_kind() == errc::stopped) return config.poll_interval;  // shutting down
  if (poll) {
    config.feed->record_poll(poll.value(), monotonic_now_ns());
    st.last_ok = true;
    if (!std::exchange(st.described, true))
      spdlog::info("BMC {} ({}): {}", config.bmc.id, config.bmc.endpoint, st.reader->describe());
    auto step = st.policy->succeeded();
    write_log(step.note);
    return step.next_poll;
  }
  st.last_ok = false;
  config.feed->record_failure(classify_bmc_error(poll.error()));
  auto step = st.policy->failed(poll.error(), st.client->retry_after());
  write_log(step.note);
  if (step.rediscover) {
    st.reader->rediscover();
    st.described = false;
  }
  return step.next_poll;
}

}  // namespace

caf::behavior platform_poller(caf::stateful_actor<platform_poller_state>* self, platform_poller_config config) {
  auto& st = self->state;
  auto client =
      redfish_client::create(config.bmc, config.http_timeout, [flag = config.stopping] { return flag->load(); });
  if (!client) {  // only a setting can fail here (a CA file): nothing to retry
    spdlog::error("BMC {}: {}; the node's power is not read from it", config.bmc.id, client.error_message());
    self->quit();
    return {};
  }
  st.client.emplace(std::move(client).value());
  st.reader =
      std::make_unique<redfish_power_reader>([self](std::string_view path) { return self->state.client->get(path); });
  st.policy = std::make_unique<bmc_poll_policy>(config.bmc.id, config.poll_interval, real_random);
  // A session left open would count against the BMC's few; only a BMC that answers is asked
  // (a stalled one would hold up the shutdown).
  self->set_exit_handler([self](caf::exit_msg& exit) {
    if (self->state.last_ok) self->state.client->logout();
    self->quit(exit.reason);
  });
  self->send(self, poll_atom_v);
  return {
      [self, config](poll_atom) { self->delayed_send(self, poll_once(self, config), poll_atom_v); },
  };
}

}  // namespace kepler
