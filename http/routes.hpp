#pragma once
// Request → response for the endpoint (/metrics, the page at /, /api/v1/summary, the probes),
// free of sockets so it can be tested directly.

#include <memory>
#include <string>
#include <string_view>

#include "http/metrics_document.hpp"

namespace kepler {

/// What the server knows when it answers one request.
struct route_state {
  bool metrics_enabled = true;                      ///< exporter.prometheus.enabled
  bool ready = false;                               ///< publish() has been called at least once
  std::shared_ptr<const metrics_document> metrics;  ///< last published document; null before that
  /// exporter.ui.enabled: `/` is the page and /api/v1/summary is served; else `/` lists links.
  bool ui_enabled = false;
  std::shared_ptr<const metrics_document> page;     ///< last published page; null before that
  std::shared_ptr<const metrics_document> summary;  ///< last published summary; null before that
  std::shared_ptr<const std::string> waiting_page;  ///< the page before the first snapshot
};

/// The answer to one request. Bodies are shared so a large document is never copied per scrape.
struct route_response {
  unsigned status = 200;
  std::string_view content_type;                     ///< static text, valid for the program's lifetime
  std::shared_ptr<const std::string> body;           ///< null exactly when `document` is set
  bool allow_get_head = false;                       ///< a 405 that must carry `Allow: GET, HEAD`
  std::shared_ptr<const metrics_document> document;  ///< the body is its text, made on demand (it may go out gzipped)
};

inline constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view html_content_type = "text/html; charset=utf-8";
inline constexpr std::string_view text_content_type = "text/plain; charset=utf-8";
inline constexpr std::string_view json_content_type = "application/json";
inline constexpr std::string_view summary_path = "/api/v1/summary";

/// Answers `method target` (the request-target as sent; a query string is ignored).
/// HEAD is answered like GET: leaving the body out is the transport's job.
route_response route(std::string_view method, std::string_view target, const route_state& state);

/// The landing page at `/` with the page off, listing the endpoints that are served.
std::string index_page(bool metrics_enabled);

}  // namespace kepler
