#include "http/metrics_document.hpp"

#include <new>

#include "http/gzip.hpp"

namespace kepler {

metrics_document::metrics_document(std::shared_ptr<const std::string> text)
    : premade_(text ? std::move(text) : std::make_shared<const std::string>()) {}

std::shared_ptr<const std::string> metrics_document::make() const {
  std::shared_ptr<const std::string> rendered;
  std::call_once(make_once_, [&] {
    try {
      rendered = premade_ ? premade_ : std::make_shared<const std::string>(render_());
      text_size_ = rendered->size();
      auto compressed = gzip_compress(*rendered);
      if (compressed) gzip_ = std::make_shared<const std::string>(std::move(compressed).value());
    } catch (const std::bad_alloc&) {
      // Out of memory: served as text if it was rendered, else answered 500 (reported).
    }
    if (!gzip_) fallback_text_ = rendered;
    {
      std::lock_guard lock(plain_mutex_);
      plain_ = rendered;  // shared with the plain requests that overlap the one that rendered it
    }
    render_ = nullptr;
    made_.store(true, std::memory_order_release);
  });
  return rendered;
}

std::shared_ptr<const std::string> metrics_document::gzipped() const {
  make();
  return gzip_;
}

std::shared_ptr<const std::string> metrics_document::text() const {
  if (premade_) return premade_;
  if (auto rendered = make()) return rendered;
  if (!gzip_) return fallback_text_;
  std::lock_guard lock(plain_mutex_);
  if (auto shared = plain_.lock()) return shared;
  try {
    auto inflated = gzip_decompress(*gzip_, text_size_);
    if (!inflated) return nullptr;  // cannot happen to what gzip_compress made
    auto text = std::make_shared<const std::string>(std::move(inflated).value());
    plain_ = text;
    return text;
  } catch (const std::bad_alloc&) {
    return nullptr;  // out of memory: this request is answered 500 (reported)
  }
}

std::shared_ptr<const std::string> metrics_document::text_if_ready() const {
  if (premade_) return premade_;
  if (!made_.load(std::memory_order_acquire)) return nullptr;
  if (!gzip_) return fallback_text_;
  std::unique_lock lock(plain_mutex_, std::try_to_lock);  // held while inflating: not ready
  return lock.owns_lock() ? plain_.lock() : nullptr;
}

}  // namespace kepler
