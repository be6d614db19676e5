#pragma once
// One served document (the /metrics text, the page, the summary JSON), shared by every request
// until the next snapshot's replaces it.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace kepler {

/// The exposition text and its gzip form, each made at most once, on first demand: a
/// snapshot nobody scrapes is never rendered (with the usual 5 s interval and 30 s scrapes,
/// five of six would not be). Thread-safe; immutable once made.
class metrics_document {
 public:
  using renderer = std::function<std::string()>;

  /// A document whose text is already made.
  explicit metrics_document(std::shared_ptr<const std::string> text);
  /// A document rendered by `render` on the first call of text().
  explicit metrics_document(renderer render) : render_(std::move(render)) {}

  /// The exposition text, rendered on the first call (other callers wait for it); null if
  /// rendering failed (out of memory), which the caller answers with an error.
  std::shared_ptr<const std::string> text() const;

  /// Whether text() returns without rendering (cheap enough for the I/O thread).
  bool text_ready() const { return text_ready_.load(std::memory_order_acquire); }

  /// The gzip form, compressed on the first call (other callers wait for it); null if
  /// rendering or compression failed, in which case the caller serves the text uncompressed.
  std::shared_ptr<const std::string> gzipped() const;

  /// Whether gzipped() returns without compressing (cheap enough for the I/O thread).
  bool gzip_ready() const { return gzip_ready_.load(std::memory_order_acquire); }

 private:
  mutable renderer render_;  // dropped once run: what it holds (a snapshot) is freed
  mutable std::once_flag text_once_;
  mutable std::shared_ptr<const std::string> text_;  // written once, under text_once_
  mutable std::atomic<bool> text_ready_{false};
  mutable std::once_flag gzip_once_;
  mutable std::shared_ptr<const std::string> gzip_;  // written once, under gzip_once_
  mutable std::atomic<bool> gzip_ready_{false};
};

/// What one snapshot is served as; each document is made on its first request.
struct published_documents {
  std::shared_ptr<const metrics_document> metrics;  ///< /metrics
  std::shared_ptr<const metrics_document> page;     ///< `/` (with the page on)
  std::shared_ptr<const metrics_document> summary;  ///< /api/v1/summary (with the page on)
};

}  // namespace kepler
