#pragma once
// The HTTP endpoint (Boost.Beast): /metrics from a cached document, /, /healthz, /readyz.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "sensors/result.hpp"

namespace kepler {

/// Serves pre-rendered metrics on every listen address from its own I/O thread.
/// Rendering happens elsewhere, once per snapshot; scrapes only copy cached bytes.
class metrics_server {
 public:
  struct options {
    std::vector<std::string> listen_addresses{":28282"};  ///< `host:port`, host may be empty or [v6]
    bool metrics_enabled = true;                          ///< exporter.prometheus.enabled
  };

  /// Binds every address and starts serving. The error names the address that failed.
  static result<std::unique_ptr<metrics_server>> start(const options& opts);

  ~metrics_server();
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  /// Replaces the document served at /metrics; the first call makes /readyz answer 200.
  void publish(std::shared_ptr<const std::string> metrics_text);

  /// Stops accepting, lets in-flight responses finish (at most 5 s), joins the I/O thread.
  void stop();

  /// The ports actually bound, in the order of the listen addresses (useful with port 0).
  std::vector<unsigned short> bound_ports() const;

 private:
  struct impl;
  explicit metrics_server(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace kepler
