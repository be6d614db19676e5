#pragma once
// gzip content coding for /metrics: negotiation and compression (zlib).

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace kepler {

/// Whether an `Accept-Encoding` value lets us answer with gzip: `gzip`, `x-gzip` or `*`
/// with a q-value above 0 (an explicit `gzip;q=0` wins over `*`).
bool accepts_gzip(std::string_view accept_encoding);

/// `text` as a gzip member (RFC 1952); an error names zlib's failure (std::bad_alloc when
/// memory runs out, as everywhere).
result<std::string> gzip_compress(std::string_view text);

}  // namespace kepler
