#pragma once
// The HTTP server's actor shell: renders each snapshot once and hands the bytes to the
// Beast server, which serves them to every scraper until the next snapshot.

#include <memory>

#include "actors/actor_stats.hpp"
#include "actors/messages.hpp"
#include "actors/metrics_renderer.hpp"
#include "http/metrics_server.hpp"

namespace kepler {

struct http_server_state {
  static inline const char* name = "http_server";
  std::shared_ptr<metrics_server> server;
  render_context context;
  std::shared_ptr<actor_stats> stats;
  std::size_t last_size = 0;  ///< of the previous document: the next one's allocation
};

caf::behavior http_server(caf::stateful_actor<http_server_state>* self,
                          std::shared_ptr<metrics_server> server, render_context context,
                          std::shared_ptr<actor_stats> stats);

}  // namespace kepler
