#include "http/routes.hpp"

namespace kepler {
namespace {

using text_ptr = std::shared_ptr<const std::string>;

/// Shared, immutable bodies: built once so routine answers allocate nothing.
text_ptr constant(const char* text) { return std::make_shared<const std::string>(text); }

const text_ptr& page_for(bool metrics_enabled) {
  static const text_ptr with_metrics = std::make_shared<const std::string>(index_page(true));
  static const text_ptr without_metrics = std::make_shared<const std::string>(index_page(false));
  return metrics_enabled ? with_metrics : without_metrics;
}

route_response text(unsigned status, const text_ptr& body) {
  return route_response{status, text_content_type, body, false, nullptr};
}

/// The page (the one waiting for a snapshot before the first), or the links with the page off.
route_response landing_page(const route_state& state) {
  if (!state.ui_enabled) return route_response{200, html_content_type, page_for(state.metrics_enabled), false, nullptr};
  if (state.page) return route_response{200, html_content_type, nullptr, false, state.page};
  if (state.waiting_page) return route_response{200, html_content_type, state.waiting_page, false, nullptr};
  return route_response{200, html_content_type, page_for(state.metrics_enabled), false, nullptr};
}

}  // namespace

std::string index_page(bool metrics_enabled) {
  std::string page =
      "<html>\n"
      "<head><title>Kepler</title></head>\n"
      "<body>\n"
      "<h1>Kepler Service</h1>\n"
      "<p>Available endpoints:</p>\n"
      "<ul>\n";
  if (metrics_enabled) {
    page += "<li> <a href=\"/metrics\"> Metrics </a> Prometheus metrics </li>\n";
  }
  page +=
      "<li> <a href=\"/healthz\"> Health </a> Liveness probe </li>\n"
      "<li> <a href=\"/readyz\"> Ready </a> Readiness probe: ready once metrics are available </li>\n"
      "</ul>\n"
      "</body>\n"
      "</html>\n";
  return page;
}

route_response route(std::string_view method, std::string_view target, const route_state& state) {
  static const text_ptr not_found = constant("404 page not found");
  static const text_ptr not_allowed = constant("method not allowed");
  static const text_ptr no_snapshot = constant("no snapshot yet");
  static const text_ptr ok = constant("ok");
  static const text_ptr ready = constant("ready");
  static const text_ptr not_ready = constant("not ready");

  const auto path = target.substr(0, target.find('?'));
  const bool is_metrics = path == "/metrics" && state.metrics_enabled;
  const bool is_summary = path == summary_path && state.ui_enabled;
  if (!is_metrics && !is_summary && path != "/" && path != "/healthz" && path != "/readyz") {
    return text(404, not_found);
  }
  // Path before method, so an unknown path is a 404 whatever the method.
  if (method != "GET" && method != "HEAD") {
    auto response = text(405, not_allowed);
    response.allow_get_head = true;
    return response;
  }
  if (is_metrics) {
    if (!state.metrics) return text(503, no_snapshot);
    return route_response{200, metrics_content_type, nullptr, false, state.metrics};
  }
  if (is_summary) {
    if (!state.summary) return text(503, no_snapshot);
    return route_response{200, json_content_type, nullptr, false, state.summary};
  }
  if (path == "/") return landing_page(state);
  if (path == "/healthz") return text(200, ok);
  return state.ready ? text(200, ready) : text(503, not_ready);
}

}  // namespace kepler
