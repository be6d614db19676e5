#pragma once
// The page at `/`: one self-contained HTML document (its stylesheet and script embedded, no
// external resources) that shows a snapshot's summary as plain tables, which its script then
// keeps live from /api/v1/summary every interval. Readable without JavaScript.

#include <string>

#include "metrics/summary.hpp"

namespace kepler {

/// What the page links to besides the summary.
struct ui_page_options {
  bool metrics_link = true;  ///< exporter.prometheus.enabled: /metrics is served
};

/// The page for `summary`; null before the first snapshot (the script fills the page in once
/// the summary answers).
std::string ui_page(const summary* summary, const ui_page_options& options);

}  // namespace kepler
