#include "k8s/pod_informer.hpp"

#include <fmt/format.h>

namespace kepler {

kube_settings kube_settings_from(const kepler_config& config) {
  kube_settings settings;
  const auto& kube = config.kube;
  settings.enabled = kube.enabled;
  settings.node_name = kube.node_name;
  settings.kubeconfig = kube.config;
  settings.mode = kube.pod_informer.mode;
  settings.poll_interval = std::chrono::duration_cast<std::chrono::milliseconds>(kube.pod_informer.poll_interval);
  settings.max_body_bytes = static_cast<std::size_t>(kube.pod_informer.max_response_bytes);
  settings.kubelet_endpoint = kube.kubelet.endpoint;
  settings.kubelet_token_file = kube.kubelet.token_file;
  settings.kubelet_ca_file = kube.kubelet.ca_file;
  settings.kubelet_insecure_skip_verify = kube.kubelet.insecure_skip_verify;
  return settings;
}

pod_informer::pod_informer(kube_settings settings, in_cluster_env cluster, update_sink on_update, log_sink on_log,
                           std::function<double()> random, std::function<double()> wall_seconds)
    : settings_(std::move(settings)),
      cluster_(std::move(cluster)),
      on_update_(std::move(on_update)),
      on_log_(std::move(on_log)),
      wall_seconds_(std::move(wall_seconds)),
      delay_(std::chrono::seconds(1), std::chrono::minutes(5), std::move(random)) {
  health_.mode = std::string(to_string(settings_.mode));
}

void pod_informer::start() { publish(nullptr); }

std::chrono::milliseconds pod_informer::step(const stop_flag& should_stop) {
  if (should_stop()) return {};
  return settings_.mode == pod_informer_mode::kubelet ? poll_kubelet(should_stop) : step_apiserver(should_stop);
}

void pod_informer::publish(pod_index_ptr index) {
  if (index) health_.pods = index->pod_count();
  health_.errors.clear();
  for (const auto& [kind, count] : errors_) health_.errors.push_back({kind, count});
  on_update_(std::move(index), health_);
}

void pod_informer::succeeded(pod_index_ptr index) {
  if (!last_problem_.empty())
    on_log_({false, fmt::format("pod source {}: synced again ({} pods)", health_.mode,
                                index ? index->pod_count() : health_.pods)});
  last_problem_.clear();
  health_.up = true;
  health_.last_success_seconds = wall_seconds_();
  delay_.reset();
  publish(std::move(index));
}

void pod_informer::failed(const error& failure) {
  ++errors_[std::string(to_string(failure.kind))];
  health_.up = false;
  if (failure.message != last_problem_)
    on_log_({true, fmt::format("pod source {}: {} ({}); keeping the last pod list ({} pods)", health_.mode,
                               failure.message, to_string(failure.kind), health_.pods)});
  last_problem_ = failure.message;
  publish(nullptr);
}

/// The endpoint is kube.kubelet.endpoint, else https://$NODE_IP:10250, else the InternalIP
/// of the Node object read from the API server.
result<kubelet_pod_source*> pod_informer::kubelet_source(const stop_flag& should_stop) {
  if (kubelet_) return &*kubelet_;
  std::string endpoint = settings_.kubelet_endpoint;
  if (endpoint.empty()) {
    if (auto from_env = kubelet_endpoint_from_env()) {
      endpoint = *from_env;
    } else {
      auto api = api_server_config_for(settings_, cluster_);
      if (!api) return api.error();
      request_options options;
      options.timeout = request_timeout;
      options.max_body_bytes = settings_.max_body_bytes;
      options.should_stop = should_stop;
      auto found = lookup_kubelet_endpoint(api.value(), settings_.node_name, options);
      if (!found) return found.error();
      endpoint = found.value();
    }
    on_log_({false, fmt::format("pod source kubelet: polling {}/pods every {} s", endpoint,
                                std::chrono::duration<double>(settings_.poll_interval).count())});
  }
  auto options = kubelet_source_options::from(settings_, endpoint);
  options.timeout = request_timeout;
  kubelet_.emplace(std::move(options));
  return &*kubelet_;
}

result<apiserver_pod_source*> pod_informer::apiserver_source() {
  if (apiserver_) return &*apiserver_;
  auto api = api_server_config_for(settings_, cluster_);
  if (!api) return api.error();
  on_log_({false, fmt::format("pod source apiserver: watching pods of node {} at {}", settings_.node_name,
                              api.value().server)});
  auto options = apiserver_source_options::from(settings_, std::move(api).value());
  options.request_timeout = request_timeout;
  apiserver_.emplace(std::move(options));
  return &*apiserver_;
}

std::chrono::milliseconds pod_informer::poll_kubelet(const stop_flag& should_stop) {
  auto source = kubelet_source(should_stop);
  auto pods = source ? source.value()->fetch(should_stop) : result<pod_list>(source.error());
  if (should_stop()) return {};
  if (!pods) {
    failed(pods.error());
    return delay_.next();
  }
  succeeded(std::make_shared<const pod_index>(pods.value().pods));
  return settings_.poll_interval;
}

std::chrono::milliseconds pod_informer::step_apiserver(const stop_flag& should_stop) {
  auto source = apiserver_source();
  if (!source) {
    failed(source.error());
    return delay_.next();
  }
  auto started = std::chrono::steady_clock::now();
  auto step = source.value()->run_once([this](pod_index_ptr index) { succeeded(std::move(index)); }, should_stop);
  if (should_stop()) return {};
  if (!step) {
    failed(step.error());
    return delay_.next();
  }
  if (step.value() == apiserver_step::listed) return {};  // watch from the list at once
  if (step.value() == apiserver_step::expired)
    on_log_({false, "pod source apiserver: resourceVersion expired (410); listing again"});
  if (step.value() == apiserver_step::watch_ended) succeeded(nullptr);
  // A server that ends every watch (or expires every version) at once is not hammered.
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return took < min_watch_period ? min_watch_period - took : std::chrono::milliseconds(0);
}

}  // namespace kepler
