#pragma once
// Client connections of the metrics server (Beast, on the server's I/O thread), plain or TLS.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "http/connection_drops.hpp"
#include "http/metrics_document.hpp"
#include "http/routes.hpp"
#include "http/server_limits.hpp"
#include "http/web_security.hpp"

namespace kepler {

/// What publish() (any thread) shares with the I/O thread.
class served_state {
 public:
  explicit served_state(bool metrics_enabled, bool ui_enabled = false,
                        std::shared_ptr<const std::string> waiting_page = nullptr)
      : metrics_enabled_(metrics_enabled), ui_enabled_(ui_enabled), waiting_page_(std::move(waiting_page)) {}

  /// Swaps in a new snapshot's documents; the old ones are released outside the lock.
  void publish(published_documents documents);
  /// Copies what a request needs; holds the lock only for pointer copies.
  route_state snapshot() const;

 private:
  const bool metrics_enabled_;
  const bool ui_enabled_;
  const std::shared_ptr<const std::string> waiting_page_;
  std::atomic<bool> ready_{false};
  mutable std::mutex mutex_;
  published_documents documents_;
};

/// What every connection of one server shares. The worker pool runs what would stall the I/O
/// thread for other clients: bcrypt checks and the first rendering and gzip of each document.
struct session_env {
  std::shared_ptr<const served_state> state;
  server_limits limits;
  boost::asio::thread_pool* workers = nullptr;  ///< outlives every session's handlers
  std::shared_ptr<std::atomic<std::size_t>> open = std::make_shared<std::atomic<std::size_t>>(0);
  drop_observer on_drop;  ///< every dropped connection or lost request; may be empty

  /// Never throws: it is called from catch blocks, and a report that cannot be made (out of
  /// memory) must not take the server's thread down.
  void dropped(http_drop reason, const std::string& detail) const noexcept {
    try {
      if (on_drop) on_drop(reason, detail);
    } catch (...) {
    }
  }
};

/// Where a connection stands, for choosing which one to close when the server is full.
enum class connection_phase {
  lingering,  ///< answered for good; waits only for the client to close (cheapest to drop)
  idle,       ///< keep-alive: waits for the next request
  request,    ///< TLS handshake or a request under way, not yet complete
  response,   ///< writing a response the client has not read yet
  working,    ///< waits for a worker: its password checked, its document rendered
  closed,     ///< closed; its handlers are finishing
};

struct connection_status {
  connection_phase phase = connection_phase::request;
  std::chrono::steady_clock::time_point since;  ///< when it entered this phase
};

/// One client connection: reads requests one at a time, answers them through route(), keeps
/// the connection alive when the client asks. Every error ends the connection and nothing else,
/// and is reported to `session_env::on_drop` (a client that simply leaves is not an error).
class connection {
 public:
  virtual ~connection() = default;
  /// Starts the TLS handshake (if any) and reads the first request.
  virtual void start() = 0;
  /// Server stop: closes now when idle, otherwise right after the response in flight.
  virtual void shutdown() = 0;
  /// Closes now to make room for a new connection, reporting the drop by its phase; false
  /// (and nothing done) when already closed. A worker job it waits for is skipped if not yet
  /// begun; the object lives on until the job is done, its descriptor does not.
  virtual bool evict() = 0;
  /// Its phase and since when (I/O thread only).
  virtual connection_status status() const = 0;
};

/// A connection over `socket`, with TLS when `security->tls` is set; counted in `env->open`
/// for its lifetime.
std::shared_ptr<connection> make_connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<const session_env> env,
                                            std::shared_ptr<const web_security> security);

}  // namespace kepler
