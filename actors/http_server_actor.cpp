#include "actors/http_server_actor.hpp"

namespace kepler {

caf::behavior http_server(caf::stateful_actor<http_server_state>* self,
                          std::shared_ptr<metrics_server> server, render_context context,
                          std::shared_ptr<actor_stats> stats) {
  self->state.server = std::move(server);
  self->state.context = std::move(context);
  self->state.stats = std::move(stats);
  return {
      [=](const snapshot_ptr& snap) {
        auto& st = self->state;
        if (st.stats) st.stats->set_mailbox_depth("http_server", self->mailbox().size());
        auto text = std::make_shared<const std::string>(render_metrics(*snap, st.context, st.last_size));
        st.last_size = text->size();
        st.server->publish(std::move(text));
      },
  };
}

}  // namespace kepler
