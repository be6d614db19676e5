#include "http/metrics_document.hpp"

#include "http/gzip.hpp"

namespace kepler {

metrics_document::metrics_document(std::shared_ptr<const std::string> text) {
  std::call_once(text_once_, [&] { text_ = text ? std::move(text) : std::make_shared<const std::string>(); });
  text_ready_.store(true, std::memory_order_release);
}

std::shared_ptr<const std::string> metrics_document::text() const {
  std::call_once(text_once_, [this] {
    try {
      text_ = std::make_shared<const std::string>(render_());
    } catch (const std::bad_alloc&) {
      // Out of memory: this scrape and the next ones of this document get a 500 (reported).
    }
    render_ = nullptr;
    text_ready_.store(true, std::memory_order_release);
  });
  return text_;
}

std::shared_ptr<const std::string> metrics_document::gzipped() const {
  std::call_once(gzip_once_, [this] {
    try {
      auto plain = text();
      auto compressed = plain ? gzip_compress(*plain) : result<std::string>(make_error("no text"));
      if (compressed) gzip_ = std::make_shared<const std::string>(std::move(compressed).value());
    } catch (const std::bad_alloc&) {
      // Out of memory: this document goes out uncompressed (the session reports it).
    }
    gzip_ready_.store(true, std::memory_order_release);
  });
  return gzip_;
}

}  // namespace kepler
