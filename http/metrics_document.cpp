#include "http/metrics_document.hpp"

#include "http/gzip.hpp"

namespace kepler {

std::shared_ptr<const std::string> metrics_document::gzipped() const {
  std::call_once(gzip_once_, [this] {
    try {
      gzip_ = std::make_shared<const std::string>(gzip_compress(*text_));
    } catch (const std::exception&) {
      // Out of memory or a zlib failure: this document goes out uncompressed.
    }
    gzip_ready_.store(true, std::memory_order_release);
  });
  return gzip_;
}

}  // namespace kepler
