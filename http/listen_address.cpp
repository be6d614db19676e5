#include "http/listen_address.hpp"

#include <charconv>

namespace kepler {

result<listen_address> parse_listen_address(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return make_error("missing ']' after IPv6 host");
    if (close + 1 >= text.size() || text[close + 1] != ':') return make_error("missing port");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.empty()) return make_error("empty IPv6 host");
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return make_error("missing port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return make_error("an IPv6 host must be in brackets");
  }
  if (port.empty()) return make_error("missing port");
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
    return make_error("invalid port \"" + std::string(port) + "\" (want a number from 0 to 65535)");
  }
  return listen_address{std::string(host), static_cast<unsigned short>(value)};
}

}  // namespace kepler
