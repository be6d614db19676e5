#pragma once
// One served document (the /metrics text, the page, the summary JSON), shared by every request
// until the next snapshot's replaces it.

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace kepler {

/// A document rendered at most once, on first demand (a snapshot nobody scrapes is never
/// rendered: with the usual 5 s interval and 30 s scrapes, five of six would not be), and kept
/// gzipped: a tenth of its text's size, the form Prometheus asks for. The text is inflated again
/// for clients that want it plain, once for all the requests that overlap, and freed when the
/// last of them is answered. Thread-safe; immutable once made.
class metrics_document {
 public:
  using renderer = std::function<std::string()>;

  /// A document whose text is already made: kept as it is, compressed on its first gzip request.
  explicit metrics_document(std::shared_ptr<const std::string> text);
  /// A document rendered by `render` on its first request.
  explicit metrics_document(renderer render) : render_(std::move(render)) {}

  /// The gzip form, made on the first call of this or text() (other callers wait for it);
  /// null if rendering or compression failed, in which case the caller serves text().
  std::shared_ptr<const std::string> gzipped() const;

  /// Whether gzipped() returns without rendering (cheap enough for the I/O thread).
  bool gzip_ready() const { return made_.load(std::memory_order_acquire); }

  /// The exposition text: rendered on the first call, else shared with the requests that hold
  /// it, else inflated from the gzip form; null if rendering failed or memory ran out, which
  /// the caller answers with an error.
  std::shared_ptr<const std::string> text() const;

  /// The text if text() would return it without rendering or inflating, else null: cheap
  /// enough for the I/O thread.
  std::shared_ptr<const std::string> text_if_ready() const;

 private:
  /// Renders and compresses, once; returns the rendered text to the caller that rendered it.
  std::shared_ptr<const std::string> make() const;

  const std::shared_ptr<const std::string> premade_;  // a text made in advance, kept
  mutable renderer render_;                           // dropped once run: what it holds (a snapshot) is freed
  mutable std::once_flag make_once_;
  mutable std::atomic<bool> made_{false};
  // Written once, under make_once_:
  mutable std::shared_ptr<const std::string> gzip_;
  mutable std::shared_ptr<const std::string> fallback_text_;  // the rendered text, kept when gzip failed
  mutable std::size_t text_size_ = 0;
  // The text inflated for the plain requests in flight (under plain_mutex_).
  mutable std::mutex plain_mutex_;
  mutable std::weak_ptr<const std::string> plain_;
};

/// What one snapshot is served as; each document is made on its first request.
struct published_documents {
  std::shared_ptr<const metrics_document> metrics;  ///< /metrics
  std::shared_ptr<const metrics_document> page;     ///< `/` (with the page on)
  std::shared_ptr<const metrics_document> summary;  ///< /api/v1/summary (with the page on)
};

}  // namespace kepler
