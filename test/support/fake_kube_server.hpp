#pragma once
// A scriptable stand-in for the kubelet and the API server in tests: HTTPS (or plain HTTP)
// on 127.0.0.1 at an ephemeral port, one thread per connection. Tests choose per path what
// is answered (fixture bodies, statuses, stalls, truncated or huge bodies, watch streams),
// may require a bearer token or a client certificate, and inspect the requests it received.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace kepler::test {

/// How a watch stream ends once its scripted lines are sent.
enum class watch_end {
  finish,  ///< the final chunk: the server ended the watch normally
  hold,    ///< stay open and send lines pushed with `push_watch_line` until `end_watch` or stop
  abort,   ///< close the connection without the final chunk
};

/// One scripted reply.
struct fake_response {
  enum class mode { complete, cut_short, huge, watch };
  mode how = mode::complete;
  unsigned status = 200;
  std::string body;
  std::chrono::milliseconds stall{0};  ///< wait this long before sending anything
  std::size_t huge_bytes = 0;          ///< mode huge: body size, streamed, never held in memory
  bool chunked = false;                ///< mode huge: chunked encoding instead of Content-Length
  std::vector<std::string> lines;      ///< mode watch: events sent first, one per line
  watch_end end = watch_end::finish;   ///< mode watch: what happens after `lines`

  /// A complete response with this JSON body.
  static fake_response json(std::string body, unsigned status = 200);
  /// Waits `delay` (interrupted when the server stops), then answers `body`.
  static fake_response stalled(std::chrono::milliseconds delay, std::string body = "{}");
  /// A complete HTTP response whose JSON is cut in the middle (Content-Length matches).
  static fake_response truncated_json(const std::string& body);
  /// Announces the whole body in Content-Length, sends half of it and closes the connection.
  static fake_response cut_short(std::string body);
  /// A syntactically valid PodList of `bytes` bytes (mostly spaces), streamed in pieces.
  static fake_response huge(std::size_t bytes, bool chunked);
  /// A chunked watch stream: `lines`, then `end`.
  static fake_response watch(std::vector<std::string> lines, watch_end end = watch_end::finish);
};

/// What the server saw of one request.
struct recorded_request {
  std::string method;
  std::string path;
  std::string query;          ///< after '?', empty if none
  std::string authorization;  ///< the Authorization header as sent
};

/// Where the server listens and what it demands of clients.
struct fake_server_options {
  bool tls = true;
  unsigned short port = 0;  ///< 0 = an ephemeral port
  std::string cert_file;    ///< server certificate chain (PEM), required with tls
  std::string key_file;
  std::string client_ca_file;  ///< when set, clients must present a certificate signed by it
};

/// Chooses a reply for a request before the routes are consulted (nullopt: use the routes).
using fake_handler = std::function<std::optional<fake_response>(const recorded_request&)>;

class fake_kube_server {
 public:
  /// Starts listening on 127.0.0.1 (an ephemeral port unless one is given); throws on failure.
  explicit fake_kube_server(fake_server_options options);
  /// Stops accepting, interrupts stalls and streams, and joins every thread.
  ~fake_kube_server();
  fake_kube_server(const fake_kube_server&) = delete;
  fake_kube_server& operator=(const fake_kube_server&) = delete;

  unsigned short port() const { return port_; }
  /// `https://127.0.0.1:<port>` (or http://).
  std::string url() const;

  /// Answers every request for `path` (without `watch=1`) with `response`.
  void on(const std::string& path, fake_response response);
  /// Answers every watch request (`watch=1` or `watch=true`) for `path` with `response`.
  void on_watch(const std::string& path, fake_response response);
  /// Answers only the next request for `path`; queued replies come before `on`'s.
  void queue(const std::string& path, fake_response response);
  void queue_watch(const std::string& path, fake_response response);
  /// Consulted first for every request (the fake kubelet uses it).
  void set_handler(fake_handler handler);

  /// Requests without `Authorization: Bearer <token>` get 401; empty = no token required.
  void require_token(std::string token);

  /// Sends a line on the open `hold` watch stream (queued until one is open).
  void push_watch_line(std::string line);
  /// Ends the open `hold` watch stream with the final chunk.
  void end_watch();

  std::vector<recorded_request> requests() const;
  /// Bytes of body the server managed to write in total (the huge replies included).
  std::size_t body_bytes_sent() const;
  /// Waits until `count` connections have been served to the end (or failed); false after
  /// `timeout`.
  bool wait_finished(std::size_t count, std::chrono::milliseconds timeout) const;

  struct state;  ///< shared with the connection threads (defined in the .cpp)

 private:
  struct connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  void accept_loop();
  void reap_finished();

  std::shared_ptr<state> state_;
  unsigned short port_ = 0;
  std::thread acceptor_thread_;
  std::list<connection> connections_;  ///< only touched by the acceptor thread and the destructor
};

}  // namespace kepler::test
