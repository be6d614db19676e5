#include "actors/http_server_actor.hpp"

namespace kepler {
namespace {

/// The page and the summary of `snap`, sharing one summary made by the first request for either.
void add_ui_documents(http_server_state& st, const snapshot_ptr& snap, published_documents& documents) {
  const uint64_t mark = st.history->record(*snap);  // O(zones): what the page costs while nobody looks
  auto summary = std::make_shared<const lazy_summary>(snap, st.summary, st.history, mark);
  documents.page = std::make_shared<const metrics_document>(
      [summary, options = st.page] { return ui_page(&summary->get(), options); });
  documents.summary = std::make_shared<const metrics_document>([summary] { return summary_json(summary->get()); });
}

}  // namespace

snapshot_sink::behavior_type http_server(snapshot_sink::stateful_pointer<http_server_state> self,
                                         std::shared_ptr<metrics_server> server, render_context context,
                                         std::shared_ptr<actor_stats> stats, ui_settings ui) {
  self->state.server = std::move(server);
  self->state.context = std::make_shared<const render_context>(std::move(context));
  self->state.stats = std::move(stats);
  self->state.last_size = std::make_shared<std::atomic<std::size_t>>(0);
  if (ui.enabled) {
    auto interval = std::chrono::duration<double>(ui.summary.interval_seconds);
    self->state.history = std::make_shared<power_history>(
        power_history::capacity_for(std::chrono::duration_cast<std::chrono::nanoseconds>(interval)));
    self->state.summary = std::make_shared<const summary_context>(std::move(ui.summary));
    self->state.page = ui.page;
  }
  return {
      [=](const snapshot_ptr& snap) {
        auto& st = self->state;
        if (st.stats) st.stats->set_mailbox_depth("http_server", self->mailbox().size());
        published_documents documents;
        // Rendered by the first scrape that wants it, on the server's worker.
        documents.metrics =
            std::make_shared<const metrics_document>([snap, context = st.context, last_size = st.last_size] {
              auto text = render_metrics(*snap, *context, last_size->load(std::memory_order_relaxed));
              last_size->store(text.size(), std::memory_order_relaxed);
              return text;
            });
        if (st.history) add_ui_documents(st, snap, documents);
        st.server->publish(std::move(documents));
      },
  };
}

}  // namespace kepler
