#include "actors/http_server_actor.hpp"

namespace kepler {

snapshot_sink::behavior_type http_server(snapshot_sink::stateful_pointer<http_server_state> self,
                                         std::shared_ptr<metrics_server> server, render_context context,
                                         std::shared_ptr<actor_stats> stats) {
  self->state.server = std::move(server);
  self->state.context = std::make_shared<const render_context>(std::move(context));
  self->state.stats = std::move(stats);
  self->state.last_size = std::make_shared<std::atomic<std::size_t>>(0);
  return {
      [=](const snapshot_ptr& snap) {
        auto& st = self->state;
        if (st.stats) st.stats->set_mailbox_depth("http_server", self->mailbox().size());
        // Rendered by the first scrape that wants it, on the server's worker.
        st.server->publish(
            std::make_shared<const metrics_document>([snap, context = st.context, last_size = st.last_size] {
              auto text = render_metrics(*snap, *context, last_size->load(std::memory_order_relaxed));
              last_size->store(text.size(), std::memory_order_relaxed);
              return text;
            }));
      },
  };
}

}  // namespace kepler
