#pragma once
// The HTTP server's actor shell: hands each snapshot to the Beast server as a document that
// the first scrape renders (once), served to every scraper until the next snapshot.

#include <atomic>
#include <memory>

#include "actors/messages.hpp"
#include "attribution/actor_stats.hpp"
#include "http/metrics_server.hpp"
#include "metrics/renderer.hpp"

namespace kepler {

struct http_server_state {
  static inline const char* name = "http_server";
  std::shared_ptr<metrics_server> server;
  std::shared_ptr<const render_context> context;  ///< shared by the documents
  std::shared_ptr<actor_stats> stats;
  /// Size of the last rendered document: the next one's allocation.
  std::shared_ptr<std::atomic<std::size_t>> last_size;
};

snapshot_sink::behavior_type http_server(snapshot_sink::stateful_pointer<http_server_state> self,
                                         std::shared_ptr<metrics_server> server, render_context context,
                                         std::shared_ptr<actor_stats> stats);

}  // namespace kepler
