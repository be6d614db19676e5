#pragma once
// Pods of this node from the API server: list (`fieldSelector=spec.nodeName=<node>`,
// paginated), then watch from the list's resourceVersion with bookmarks, relisting when the
// server says the version is gone (410). Driven one blocking step at a time. Plain C++.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "k8s/kube_http_client.hpp"
#include "k8s/kube_settings.hpp"
#include "k8s/kubeconfig.hpp"
#include "k8s/pod_cache.hpp"
#include "k8s/pod_index.hpp"

namespace kepler {

/// What the API-server source needs.
struct apiserver_source_options {
  api_server_config server;
  std::string node_name;
  std::chrono::milliseconds request_timeout{10'000};  ///< one list page; also added to a watch's deadline
  std::chrono::seconds watch_timeout{300};            ///< `timeoutSeconds` of each watch
  std::size_t max_body_bytes = 64u << 20;             ///< one list page, or one watch event
  std::size_t page_size = 500;                        ///< list `limit`; 0 = one unpaginated list
  std::chrono::milliseconds stop_poll{100};           ///< longest wait between two stop checks
  pod_parse_limits parse_limits;

  /// The options `settings` describe, for a resolved API-server configuration.
  static apiserver_source_options from(const kube_settings& settings, api_server_config server);
};

/// What one step of the source did (failures are errors instead).
enum class apiserver_step {
  listed,       ///< listed every pod; the next step watches
  watch_ended,  ///< the server ended the watch normally; the next step watches from where it ended
  expired,      ///< the resourceVersion is too old (410); the next step relists
  stopped,      ///< the stop flag was raised
};

/// List-then-watch of this node's pods, keeping a cache that survives errors.
class apiserver_pod_source {
 public:
  using index_handler = std::function<void(pod_index_ptr)>;
  using stop_flag = std::function<bool()>;

  explicit apiserver_pod_source(apiserver_source_options options);

  /// One blocking step: a list when there is no resourceVersion to resume from, else one
  /// watch until the server ends it. Calls `on_new_index` with a new index after the first
  /// list and whenever the pods change. Checks `should_stop` at least every `stop_poll`.
  /// Errors leave the cache and the resourceVersion as they were: call again after a backoff.
  /// A server that ends every watch at once yields `watch_ended` in a loop: pace re-watches.
  result<apiserver_step> run_once(const index_handler& on_new_index, const stop_flag& should_stop);

  /// Where the next watch resumes; empty before the first list and after a 410.
  const std::string& resource_version() const { return resource_version_; }
  /// Whether a list has completed at least once.
  bool synced() const { return synced_; }
  const pod_cache& cache() const { return cache_; }

 private:
  result<kube_http_client*> client();
  result<request_options> request(std::chrono::milliseconds timeout, const stop_flag& should_stop) const;
  std::string pods_url(const std::string& query) const;
  result<apiserver_step> list(const index_handler& on_new_index, const stop_flag& should_stop);
  result<apiserver_step> watch(const index_handler& on_new_index, const stop_flag& should_stop);
  /// Forgets the TLS context after TLS or configuration errors, so fixed files are reloaded.
  error forget_client_on(error error);

  apiserver_source_options options_;
  std::optional<kube_http_client> client_;
  pod_cache cache_;
  std::string resource_version_;
  bool synced_ = false;
};

/// Percent-encodes everything but RFC 3986 unreserved characters (for query values).
std::string percent_encode(std::string_view text);

/// `metadata.continue` of a list page (empty when it is the last page).
result<std::string> list_continue_token(std::string_view json);

}  // namespace kepler
