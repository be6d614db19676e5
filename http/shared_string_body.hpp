#pragma once
// A Beast body that sends a shared, immutable string without copying it.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

namespace kepler {

/// Body whose value is a `shared_ptr<const std::string>`: every scrape of a multi-megabyte
/// document shares the one rendered copy. A null body sends nothing (used for HEAD).
struct shared_string_body {
  using value_type = std::shared_ptr<const std::string>;

  /// Content length of the body (0 when null).
  static std::uint64_t size(const value_type& body) { return body ? body->size() : 0; }

  /// Serializes the body as one buffer.
  class writer {
   public:
    using const_buffers_type = boost::asio::const_buffer;

    template <bool is_request, class Fields>
    explicit writer(const boost::beast::http::header<is_request, Fields>&, const value_type& body) : body_(body) {}

    void init(boost::beast::error_code& ec) { ec = {}; }

    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec) {
      ec = {};
      if (!body_ || body_->empty()) return boost::none;
      return {{const_buffers_type(body_->data(), body_->size()), false}};
    }

   private:
    const value_type& body_;
  };
};

}  // namespace kepler
