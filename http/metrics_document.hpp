#pragma once
// One rendered /metrics document, shared by every scrape until the next one replaces it.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace kepler {

/// The exposition text and, made at most once on first demand, its gzip form.
/// Immutable once built (the gzip form is filled in once, thread-safely).
class metrics_document {
 public:
  explicit metrics_document(std::shared_ptr<const std::string> text) : text_(std::move(text)) {}

  /// The exposition text; never null.
  const std::shared_ptr<const std::string>& text() const { return text_; }

  /// The gzip form, compressed on the first call (other callers wait for it); null if
  /// compression failed, in which case the caller serves the text uncompressed.
  std::shared_ptr<const std::string> gzipped() const;

  /// Whether gzipped() returns without compressing (cheap enough for the I/O thread).
  bool gzip_ready() const { return gzip_ready_.load(std::memory_order_acquire); }

 private:
  std::shared_ptr<const std::string> text_;
  mutable std::once_flag gzip_once_;
  mutable std::shared_ptr<const std::string> gzip_;  // written once, under gzip_once_
  mutable std::atomic<bool> gzip_ready_{false};
};

}  // namespace kepler
