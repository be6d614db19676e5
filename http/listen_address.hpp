#pragma once
// Parsing of `web.listenAddresses` entries: `:port`, `host:port`, `[v6]:port`.

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace kepler {

/// One listen address split into its parts.
struct listen_address {
  std::string host;         ///< empty for every interface; IPv6 literals without brackets
  unsigned short port = 0;  ///< 0 asks the kernel for a free port
};

/// Splits `text` into host and port. The error says what is wrong, not where (the caller names the address).
result<listen_address> parse_listen_address(std::string_view text);

}  // namespace kepler
