#include "k8s/apiserver_pod_source.hpp"

#include <simdjson.h>

namespace kepler {
namespace {

constexpr std::size_t max_list_pages = 10'000;

error parse_error(const std::string& url, const std::string& why) {
  return make_error(errc::parse, "GET " + url + ": " + why);
}

}  // namespace

apiserver_source_options apiserver_source_options::from(const kube_settings& settings, api_server_config server) {
  apiserver_source_options out;
  out.server = std::move(server);
  out.node_name = settings.node_name;
  out.request_timeout = settings.request_timeout;
  out.watch_timeout = settings.watch_timeout;
  out.max_body_bytes = settings.max_body_bytes;
  return out;
}

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

result<std::string> list_continue_token(std::string_view json) {
  // On demand: `metadata` comes before `items` in a list, so the pods are not walked again.
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  simdjson::ondemand::document doc;
  if (auto err = parser.iterate(padded).get(doc); err) {
    return make_error(errc::parse, std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  std::string_view token;
  auto err = doc["metadata"]["continue"].get_string().get(token);
  if (err == simdjson::NO_SUCH_FIELD) return std::string();
  if (err) return make_error(errc::parse, std::string("metadata.continue: ") + simdjson::error_message(err));
  return std::string(token);
}

apiserver_pod_source::apiserver_pod_source(apiserver_source_options options) : options_(std::move(options)) {}

result<kube_http_client*> apiserver_pod_source::client() {
  if (!client_) {
    auto created = kube_http_client::create(options_.server.tls);
    if (!created) return created.error();
    client_.emplace(std::move(created.value()));
  }
  return &*client_;
}

error apiserver_pod_source::forget_client_on(error error) {
  if (error.kind == errc::tls || error.kind == errc::config) client_.reset();
  return error;
}

result<request_options> apiserver_pod_source::request(std::chrono::milliseconds timeout,
                                                      const stop_flag& should_stop) const {
  auto token = current_token(options_.server);
  if (!token) return token.error();
  request_options out;
  out.bearer_token = std::move(token.value());
  out.timeout = timeout;
  out.max_body_bytes = options_.max_body_bytes;
  out.should_stop = should_stop;
  out.stop_poll = options_.stop_poll;
  return out;
}

std::string apiserver_pod_source::pods_url(const std::string& query) const {
  return options_.server.server +
         "/api/v1/pods?fieldSelector=" + percent_encode("spec.nodeName=" + options_.node_name) + query;
}

result<apiserver_step> apiserver_pod_source::run_once(const index_handler& on_new_index, const stop_flag& should_stop) {
  if (should_stop && should_stop()) return apiserver_step::stopped;
  if (!valid_node_name(options_.node_name)) {
    return make_error(errc::config, "invalid node name \"" + options_.node_name + "\"");
  }
  if (resource_version_.empty()) return list(on_new_index, should_stop);
  return watch(on_new_index, should_stop);
}

result<apiserver_step> apiserver_pod_source::list(const index_handler& on_new_index, const stop_flag& should_stop) {
  auto http = client();
  if (!http) return http.error();
  std::vector<pod_record> pods;
  std::string version;
  std::string next;
  for (std::size_t page = 0;; ++page) {
    if (page == max_list_pages) return parse_error(pods_url(""), "more than " + std::to_string(page) + " list pages");
    std::string query;
    if (options_.page_size > 0) query += "&limit=" + std::to_string(options_.page_size);
    if (!next.empty()) query += "&continue=" + percent_encode(next);
    const std::string url = pods_url(query);
    auto request_settings = request(options_.request_timeout, should_stop);
    if (!request_settings) return request_settings.error();
    auto response = http.value()->get(url, request_settings.value());
    if (!response) {
      if (response.error_kind() == errc::stopped) return apiserver_step::stopped;
      if (response.error().status == 410 && !next.empty()) return apiserver_step::expired;  // continue token expired
      return forget_client_on(response.error());
    }
    const std::string& body = response.value().body;
    auto parsed = parse_pod_list(body, options_.parse_limits);
    if (!parsed) return parse_error(url, parsed.error_message());
    if (parsed.value().pods.size() > options_.parse_limits.max_pods - pods.size()) {
      return parse_error(url, "more than " + std::to_string(options_.parse_limits.max_pods) + " pods");
    }
    std::move(parsed.value().pods.begin(), parsed.value().pods.end(), std::back_inserter(pods));
    version = parsed.value().resource_version;
    auto token = list_continue_token(body);
    if (!token) return parse_error(url, token.error_message());
    if (token.value().empty()) break;
    if (token.value() == next) return parse_error(url, "the server repeated the continue token");
    next = std::move(token.value());
  }
  if (version.empty()) return parse_error(pods_url(""), "the pod list has no metadata.resourceVersion to watch from");
  bool changed = cache_.replace(pods);
  resource_version_ = std::move(version);
  if (changed || !synced_) on_new_index(cache_.index());
  synced_ = true;
  return apiserver_step::listed;
}

result<apiserver_step> apiserver_pod_source::watch(const index_handler& on_new_index, const stop_flag& should_stop) {
  auto http = client();
  if (!http) return http.error();
  const std::string url =
      pods_url("&watch=1&resourceVersion=" + percent_encode(resource_version_) +
               "&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(options_.watch_timeout.count()));
  auto request_settings = request(options_.watch_timeout + options_.request_timeout, should_stop);
  if (!request_settings) return request_settings.error();
  result<void> failure;  // what stopped the stream early, if anything
  bool expired = false;
  auto streamed = http.value()->get_lines(url, request_settings.value(), [&](std::string_view line) {
    auto event = parse_watch_event(line);
    if (!event) {
      failure = parse_error(url, "watch event: " + event.error_message());
      return false;
    }
    const watch_event& e = event.value();
    if (e.type == watch_event::kind::error) {
      expired = e.error_code == 410;
      if (!expired) {
        failure = make_error(errc::http_status,
                             "GET " + url + ": watch error " + std::to_string(e.error_code) + ": " + e.error_message,
                             e.error_code);
      }
      return false;
    }
    if (cache_.apply(e)) on_new_index(cache_.index());
    if (!e.resource_version.empty()) resource_version_ = e.resource_version;
    return true;
  });
  if (!streamed) {
    if (streamed.error_kind() == errc::stopped) return apiserver_step::stopped;
    if (streamed.error().status == 410) expired = true;
    else return forget_client_on(streamed.error());
  }
  if (!failure) return failure.error();
  if (expired) {
    resource_version_.clear();
    return apiserver_step::expired;
  }
  return apiserver_step::watch_ended;
}

}  // namespace kepler
