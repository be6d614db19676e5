#pragma once
// The HTTP server's actor shell: hands each snapshot to the Beast server as documents that the
// first request for each renders (once): /metrics, and with the page on the page at `/` and
// /api/v1/summary, both made from one summary. Served to everyone until the next snapshot.

#include <atomic>
#include <memory>

#include "actors/messages.hpp"
#include "attribution/actor_stats.hpp"
#include "http/metrics_server.hpp"
#include "metrics/power_history.hpp"
#include "metrics/renderer.hpp"
#include "metrics/summary.hpp"
#include "metrics/ui_page.hpp"

namespace kepler {

/// The page's settings (exporter.ui.enabled); off: no history is kept and nothing is summarised.
struct ui_settings {
  bool enabled = false;
  summary_context summary;
  ui_page_options page;
};

struct http_server_state {
  static inline const char* name = "http_server";
  std::shared_ptr<metrics_server> server;
  std::shared_ptr<const render_context> context;  ///< shared by the documents
  std::shared_ptr<actor_stats> stats;
  /// Size of the last rendered document: the next one's allocation.
  std::shared_ptr<std::atomic<std::size_t>> last_size;
  /// With the page on: the summary's context and the chart's history (one point per snapshot).
  std::shared_ptr<const summary_context> summary;
  std::shared_ptr<power_history> history;
  ui_page_options page;
};

snapshot_sink::behavior_type http_server(snapshot_sink::stateful_pointer<http_server_state> self,
                                         std::shared_ptr<metrics_server> server, render_context context,
                                         std::shared_ptr<actor_stats> stats, ui_settings ui);

}  // namespace kepler
