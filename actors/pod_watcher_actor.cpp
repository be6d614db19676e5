#include "actors/pod_watcher_actor.hpp"

#include <random>

#include <spdlog/spdlog.h>

#include "base/clock.hpp"

namespace kepler {
namespace {

using watcher_ptr = caf::stateful_actor<pod_watcher_state>*;

/// One request to the kubelet or one list page: long enough for a few MB on a busy node,
/// short enough that a stalled server is noticed well within a poll interval.
constexpr auto request_timeout = std::chrono::seconds(5);
/// The shortest time between two watches (or relists after a 410).
constexpr auto min_watch_period = std::chrono::milliseconds(1000);

std::string_view mode_name(pod_informer_mode mode) {
  return mode == pod_informer_mode::kubelet ? "kubelet" : "apiserver";
}

void publish(watcher_ptr self, pod_index_ptr index) {
  auto& st = self->state;
  if (index) st.health.pods = index->pod_count();
  st.health.errors.clear();
  for (const auto& [kind, count] : st.errors) st.health.errors.push_back({kind, count});
  self->send(st.config.engine, pod_update{std::move(index), st.health});
}

void succeeded(watcher_ptr self, pod_index_ptr index) {
  auto& st = self->state;
  if (!st.last_problem.empty())
    spdlog::info("pod source {}: synced again ({} pods)", st.health.mode, index ? index->pod_count() : st.health.pods);
  st.last_problem.clear();
  st.health.up = true;
  st.health.last_success_seconds = static_cast<double>(wall_now_ns()) / 1e9;
  st.delay->reset();
  publish(self, std::move(index));
}

/// Counts and reports a failure; the engine keeps the last good index.
void failed(watcher_ptr self, const error& error) {
  auto& st = self->state;
  ++st.errors[std::string(to_string(error.kind))];
  st.health.up = false;
  if (error.message != st.last_problem)
    spdlog::warn("pod source {}: {} ({}); keeping the last pod list ({} pods)", st.health.mode, error.message,
                 to_string(error.kind), st.health.pods);
  st.last_problem = error.message;
  publish(self, nullptr);
}

/// The kubelet source, resolving its endpoint first: the setting, NODE_IP, else the Node object.
result<kubelet_pod_source*> kubelet_source(watcher_ptr self) {
  auto& st = self->state;
  if (st.kubelet) return &*st.kubelet;
  const auto& settings = st.config.settings;
  std::string endpoint = settings.kubelet_endpoint;
  if (endpoint.empty()) {
    if (auto from_env = kubelet_endpoint_from_env()) {
      endpoint = *from_env;
    } else {
      auto api = api_server_config_for(settings, st.config.cluster);
      if (!api) return api.error();
      request_options options;
      options.timeout = request_timeout;
      options.max_body_bytes = settings.max_body_bytes;
      options.should_stop = [stop = st.config.stopping] { return stop->load(); };
      auto found = lookup_kubelet_endpoint(api.value(), settings.node_name, options);
      if (!found) return found.error();
      endpoint = found.value();
    }
    spdlog::info("pod source kubelet: polling {}/pods every {} s", endpoint,
                 std::chrono::duration<double>(settings.poll_interval).count());
  }
  auto options = kubelet_source_options::from(settings, endpoint);
  options.timeout = request_timeout;
  st.kubelet.emplace(std::move(options));
  return &*st.kubelet;
}

result<apiserver_pod_source*> apiserver_source(watcher_ptr self) {
  auto& st = self->state;
  if (st.apiserver) return &*st.apiserver;
  auto api = api_server_config_for(st.config.settings, st.config.cluster);
  if (!api) return api.error();
  spdlog::info("pod source apiserver: watching pods of node {} at {}", st.config.settings.node_name,
               api.value().server);
  auto options = apiserver_source_options::from(st.config.settings, std::move(api).value());
  options.request_timeout = request_timeout;
  st.apiserver.emplace(std::move(options));
  return &*st.apiserver;
}

/// One kubelet poll; returns when to poll next.
std::chrono::milliseconds poll_kubelet(watcher_ptr self) {
  auto& st = self->state;
  auto source = kubelet_source(self);
  auto stop = [stop = st.config.stopping] { return stop->load(); };
  auto pods = source ? source.value()->fetch(stop) : result<pod_list>(source.error());
  if (st.config.stopping->load()) return {};
  if (!pods) {
    failed(self, pods.error());
    return st.delay->next();
  }
  succeeded(self, std::make_shared<const pod_index>(pods.value().pods));
  return st.config.settings.poll_interval;
}

/// One list or watch step; returns when to take the next one (at once while healthy).
std::chrono::milliseconds step_apiserver(watcher_ptr self) {
  auto& st = self->state;
  auto source = apiserver_source(self);
  if (!source) {
    failed(self, source.error());
    return st.delay->next();
  }
  auto on_new_index = [self](pod_index_ptr index) { succeeded(self, std::move(index)); };
  auto started = std::chrono::steady_clock::now();
  auto step = source.value()->run_once(on_new_index, [stop = st.config.stopping] { return stop->load(); });
  if (st.config.stopping->load()) return {};
  if (!step) {
    failed(self, step.error());
    return st.delay->next();
  }
  if (step.value() == apiserver_step::listed) return {};  // watch from the list at once
  if (step.value() == apiserver_step::expired)
    spdlog::info("pod source apiserver: resourceVersion expired (410); listing again");
  if (step.value() == apiserver_step::watch_ended) succeeded(self, nullptr);
  // A server that ends every watch (or expires every version) at once is not hammered.
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return took < min_watch_period ? min_watch_period - took : std::chrono::milliseconds(0);
}

double real_random() {
  thread_local std::mt19937 generator{std::random_device{}()};
  return std::uniform_real_distribution<>(0, 1)(generator);
}

}  // namespace

kube_settings kube_settings_from(const kepler_config& config) {
  kube_settings settings;
  const auto& kube = config.kube;
  settings.enabled = kube.enabled;
  settings.node_name = kube.node_name;
  settings.kubeconfig = kube.config;
  settings.mode = kube.pod_informer.mode == "apiserver" ? pod_informer_mode::apiserver : pod_informer_mode::kubelet;
  settings.poll_interval = std::chrono::duration_cast<std::chrono::milliseconds>(kube.pod_informer.poll_interval);
  settings.max_body_bytes = static_cast<std::size_t>(kube.pod_informer.max_response_bytes);
  settings.kubelet_endpoint = kube.kubelet.endpoint;
  settings.kubelet_token_file = kube.kubelet.token_file;
  settings.kubelet_ca_file = kube.kubelet.ca_file;
  settings.kubelet_insecure_skip_verify = kube.kubelet.insecure_skip_verify;
  return settings;
}

caf::behavior pod_watcher(caf::stateful_actor<pod_watcher_state>* self, pod_watcher_config config) {
  using namespace std::chrono_literals;
  auto& st = self->state;
  if (!config.random) config.random = real_random;
  st.delay = std::make_unique<backoff>(1000ms, std::chrono::milliseconds(5min), config.random);
  st.health.mode = mode_name(config.settings.mode);
  st.config = std::move(config);
  publish(self, nullptr);  // the engine reports the source down until the first sync
  self->send(self, poll_atom_v);
  return {
      [=](poll_atom) {
        auto& state = self->state;
        if (state.config.stopping->load()) return;
        auto next = state.config.settings.mode == pod_informer_mode::kubelet ? poll_kubelet(self)
                                                                             : step_apiserver(self);
        if (state.config.stopping->load()) return;
        if (next.count() == 0)
          self->send(self, poll_atom_v);
        else
          self->delayed_send(self, next, poll_atom_v);
      },
  };
}

}  // namespace kepler
