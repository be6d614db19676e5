#pragma once
// The HTTP endpoint (Boost.Beast): /metrics, the page at / and /api/v1/summary from cached
// documents, /healthz, /readyz,
// over plain HTTP or TLS, with basic auth, gzip and limits on what a client may cost.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "http/connection_drops.hpp"
#include "http/metrics_document.hpp"
#include "http/server_limits.hpp"

namespace kepler {

/// Serves pre-rendered metrics on every listen address from its own I/O thread.
/// Rendering happens elsewhere, once per snapshot; scrapes only copy cached bytes.
class metrics_server {
 public:
  struct options {
    options(std::vector<std::string> addresses = {":28282"}, bool metrics = true)
        : listen_addresses(std::move(addresses)), metrics_enabled(metrics) {}

    std::vector<std::string> listen_addresses;  ///< `host:port`, host may be empty or [v6]
    bool metrics_enabled = true;                ///< exporter.prometheus.enabled
    /// exporter.ui.enabled: `/` serves the published page and /api/v1/summary the summary;
    /// `ui_waiting_page` is `/` until the first publish. Off: `/` lists the endpoints.
    bool ui_enabled = false;
    std::string ui_waiting_page;
    /// web.configFile (exporter-toolkit format): TLS, basic auth, extra headers; empty: plain
    /// HTTP for everyone. The file and the files it names are watched: a valid change applies
    /// to connections accepted after it, an invalid one is reported and the old config kept.
    std::string web_config_file;
    server_limits limits;
    /// Told (on the server's I/O thread) when the web config was reloaded: ok, and what happened.
    std::function<void(bool ok, const std::string& message)> on_web_config_reload;
    /// Told of every dropped connection and lost request (I/O thread or a worker).
    drop_observer on_drop;
    /// Told (on the I/O thread) when the server reaches its connection limit and starts closing
    /// connections to admit new ones (true), and when that is over (false), with a line to log.
    std::function<void(bool at_limit, const std::string& message)> on_connection_limit;
  };

  /// Loads the web config, binds every address and starts serving. The error names the
  /// web config key or the address that failed.
  static result<std::unique_ptr<metrics_server>> start(const options& opts);

  ~metrics_server();
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  /// Replaces the documents served (/metrics, the page, the summary); the first call makes
  /// /readyz answer 200.
  void publish(published_documents documents);
  /// Replaces the document served at /metrics only.
  void publish(std::shared_ptr<const metrics_document> document);
  /// The same with a document whose text is already made.
  void publish(std::shared_ptr<const std::string> metrics_text);

  /// Stops accepting, lets in-flight responses finish (at most 5 s), joins the I/O thread.
  void stop();

  /// The ports actually bound, in the order of the listen addresses (useful with port 0).
  std::vector<unsigned short> bound_ports() const;

  /// Whether connections are served over TLS, and whether they must authenticate
  /// (as configured at start).
  bool tls_enabled() const;
  bool auth_enabled() const;

 private:
  struct impl;
  explicit metrics_server(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace kepler
